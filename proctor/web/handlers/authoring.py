"""Course authoring (Art. 6-7, 11, 12): courses, lessons, lesson videos, categories, credits
while editing, publishing and retiring. Pages for the academy and the cities; the JSON API."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from models import CourseKind, Role
from proctor.catalog import authoring, categories, lessons, media, workbench
from proctor.catalog import search as catalog_search
from proctor.catalog.inputs import KIND_NAMES, MAX_LECTURE_SECONDS
from proctor.credits.policy import CreditRules, class_hours, course_credits, credit_rules
from proctor.kernel.errors import ProctorError
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Credits, DecimalText, Input, Offset, Output, Page, RecordId, chars
from proctor.web.handlers.catalog import CourseDetail
from proctor.web.keys import TRANSCODER, actor_of, ctx_of
from proctor.web.render import json_response, page
from proctor.web.uploads import save_upload

routes = Routes(tag="authoring")
PER_PAGE = 50
Kind = Literal["required", "elective"]
Status = Literal["draft", "published", "retired"]
Title = Annotated[str, chars(200)]
LectureSeconds = Annotated[int, Field(ge=1, le=MAX_LECTURE_SECONDS)]
MESSAGES = {
    "created": "课程草稿已创建。请添加课时并上传视频，全部就绪后发布。",
    "saved": "已保存。",
    "lesson": "已添加课时，请上传该课时的视频。",
    "uploaded": "视频已上传，正在后台转码；可以离开本页，稍后回来查看进度。",
    "published": "课程已发布，学员可在课程目录中看到。",
    "retired": "课程已下线，不再向学员提供；已获得的学分不受影响。",
    "removed": "已删除课时。",
}


class CoursePath(Input):
    course_id: RecordId


class LessonPath(Input):
    lesson_id: RecordId


class JobPath(Input):
    job_id: RecordId


class CategoryPath(Input):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]


class ManagedQuery(Input):
    q: Annotated[str, chars(50, required=False)] = ""
    status: Status | None = None
    offset: Offset = 0
    limit: Annotated[int, Field(ge=1, le=200)] = PER_PAGE


class ManagedPageQuery(Input):
    q: Annotated[str, chars(50, required=False)] = ""
    status: Status | None = None
    page: Page = 1
    msg: Annotated[str, chars(16, required=False)] = ""


class MsgQuery(Input):
    msg: Annotated[str, chars(16, required=False)] = ""


class PreviewQuery(Input):
    kind: Kind
    lecture_seconds: LectureSeconds
    designated_credits: Credits | None = None


class NewLesson(Input):
    title: Title


class LessonChanges(Input):
    title: Title


class NewCategory(Input):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
    name: Annotated[str, chars(50)]
    ordinal: Annotated[int, Field(ge=0, le=1000)] | None = None


class CategoryChanges(Input):
    name: Annotated[str, chars(50)] | None = None
    ordinal: Annotated[int, Field(ge=0, le=1000)] | None = None


class CourseForm(Input):
    """A course as the authoring page edits it (lecture time in minutes)."""

    title: Title
    category: Annotated[str, chars(32)]
    kind: Kind
    lecture_minutes: Annotated[Decimal, Field(gt=0, le=MAX_LECTURE_SECONDS // 60)]
    designated_credits: Annotated[str, chars(8, required=False)] = ""
    lecturer: Annotated[str, chars(100, required=False)] = ""
    description: Annotated[str, chars(5000, required=False)] = ""
    owner: Literal["province", "city"] = "city"

    def fields(self) -> dict[str, object]:
        seconds = int((self.lecture_minutes * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return {
            "title": self.title,
            "category": self.category,
            "kind": self.kind,
            "lecture_seconds": seconds,
            "designated_credits": self.designated_credits or None,
            "lecturer": self.lecturer,
            "description": self.description,
        }


class LessonForm(Input):
    title: Title


class CategoryForm(Input):
    name: Annotated[str, chars(50)]
    ordinal: Annotated[int, Field(ge=0, le=1000)] | None = None


class NewCategoryForm(CategoryForm):
    code: Annotated[str, chars(32)]


class ManagedCourse(Output):
    id: int
    code: str
    title: str
    kind_label: str
    category_name: str
    owner_name: str
    status: Status
    status_label: str
    lessons: int
    credits: DecimalText


class ManagedCourses(Output):
    total: int
    capped: bool
    items: list[ManagedCourse]


class Lesson(Output):
    id: int
    ordinal: int
    title: str
    duration_seconds: int
    video_url: str


class MediaJob(Output):
    id: int
    lesson_id: int
    state: Literal["queued", "running", "ready", "failed"]
    state_label: str
    progress: int = Field(description="percent of the video transcoded")
    source_name: str
    duration_seconds: int | None = Field(description="probed by ffprobe at upload")
    message: str
    video_url: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class Preview(Output):
    class_hours: int
    credits: DecimalText
    text: str


class Category(Output):
    code: str
    name: str
    ordinal: int
    courses: int


class Done(Output):
    ok: bool


def _preview(
    kind: CourseKind, seconds: int, designated: Decimal | None, rules: CreditRules
) -> Preview:
    hours = class_hours(seconds, rules)
    credits = course_credits(kind, seconds, designated, rules)
    minutes = Decimal(seconds) / 60
    if designated is not None:
        text = f"指定学分 {credits} 分（不按讲授时长计算）"
    else:
        rate = rules.required_per_hour if kind is CourseKind.REQUIRED else rules.elective_per_hour
        text = (
            f"讲授 {minutes.quantize(Decimal('0.1'))} 分钟，折合 {hours} 学时"
            f"（每学时 {rules.class_hour_minutes} 分钟，四舍五入），"
            f"{KIND_NAMES[kind]}课每学时 {rate} 学分，可获 {credits} 学分"
        )
    return Preview(class_hours=hours, credits=str(credits), text=text)


# ---------------------------------------------------------------- API


@routes.get(
    "/api/v1/credits/preview",
    summary="The class hours and credits a course of this kind and lecture time earns, by the "
    "configured policy (Art. 12): what the authoring page shows while editing",
    query=PreviewQuery,
    response=Preview,
)
async def preview_api(request: web.Request, query: PreviewQuery) -> web.Response:
    rules = credit_rules(ctx_of(request).settings)
    view = _preview(CourseKind(query.kind), query.lecture_seconds, query.designated_credits, rules)
    return json_response(view.model_dump())


@routes.get(
    "/api/v1/authoring/courses",
    summary="Courses I develop (academy: the province's and below; a city: its local ones)",
    query=ManagedQuery,
    response=ManagedCourses,
)
async def managed_api(request: web.Request, query: ManagedQuery) -> web.Response:
    total, rows = await workbench.managed_courses(
        ctx_of(request),
        actor_of(request),
        q=query.q,
        status=query.status or "",
        offset=query.offset,
        limit=query.limit,
    )
    return json_response(
        {"total": total.value, "capped": total.capped, "items": [r.as_dict() for r in rows]}
    )


@routes.post(
    "/api/v1/courses/{course_id}/publish",
    summary="Publish a course whose every lesson has a playable video (409 with what is missing)",
    path=CoursePath,
    response=CourseDetail,
    errors=(409,),
)
async def publish_api(request: web.Request, path: CoursePath) -> web.Response:
    detail = await lessons.publish(ctx_of(request), actor_of(request), path.course_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/courses/{course_id}/retire",
    summary="Retire a published course (earned credits stay)",
    path=CoursePath,
    response=CourseDetail,
    errors=(409,),
)
async def retire_api(request: web.Request, path: CoursePath) -> web.Response:
    detail = await lessons.retire(ctx_of(request), actor_of(request), path.course_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/courses/{course_id}/lessons",
    summary="Add a lesson at the end of a course not published (its video is uploaded next)",
    path=CoursePath,
    body=NewLesson,
    response=Lesson,
    status=201,
    errors=(409,),
)
async def add_lesson_api(request: web.Request, path: CoursePath, body: NewLesson) -> web.Response:
    view = await lessons.add_lesson(ctx_of(request), actor_of(request), path.course_id, body.title)
    return json_response(view.as_dict(), status=201)


@routes.patch(
    "/api/v1/lessons/{lesson_id}",
    summary="Rename a lesson",
    path=LessonPath,
    body=LessonChanges,
    response=Lesson,
)
async def rename_lesson_api(
    request: web.Request, path: LessonPath, body: LessonChanges
) -> web.Response:
    view = await lessons.rename_lesson(
        ctx_of(request), actor_of(request), path.lesson_id, body.title
    )
    return json_response(view.as_dict())


@routes.delete(
    "/api/v1/lessons/{lesson_id}",
    summary="Delete a lesson nobody studied, of a course not published",
    path=LessonPath,
    response=Done,
    errors=(409,),
)
async def remove_lesson_api(request: web.Request, path: LessonPath) -> web.Response:
    await lessons.remove_lesson(ctx_of(request), actor_of(request), path.lesson_id)
    return json_response({"ok": True})


async def _receive_video(request: web.Request, lesson_id: int) -> media.JobView:
    ctx, actor = ctx_of(request), actor_of(request)
    # Refuse before reading a byte from anyone who may not change this lesson.
    await media.course_of_lesson(ctx, actor, lesson_id)
    limit = ctx.settings.max_video_bytes
    # ffprobe reads what a file is from its content: the stored name needs no suffix.
    target = media.upload_path(ctx.settings.data_dir / "media", "")
    filename = await save_upload(
        request,
        target,
        limit,
        too_large=f"视频文件过大：不能超过 {limit // 1024 // 1024} MB",
        missing="请选择要上传的课程视频文件",
    )
    job = await media.accept_upload(ctx, actor, lesson_id, filename, target)
    if TRANSCODER in request.config_dict:
        request.config_dict[TRANSCODER].wake()
    return job


@routes.post(
    "/api/v1/lessons/{lesson_id}/video",
    summary="Upload a lesson's video (multipart field `file`): probed at once (422 when it is "
    "not a video), then transcoded in the background; poll the job for progress",
    path=LessonPath,
    upload="file",
    response=MediaJob,
    status=202,
)
async def video_api(request: web.Request, path: LessonPath) -> web.Response:
    job = await _receive_video(request, path.lesson_id)
    return json_response(job.as_dict(), status=202)


@routes.get(
    "/api/v1/media-jobs/{job_id}",
    summary="A lesson video's transcoding: state and percent done",
    path=JobPath,
    response=MediaJob,
)
async def job_api(request: web.Request, path: JobPath) -> web.Response:
    job = await media.get_job(ctx_of(request), actor_of(request), path.job_id)
    return json_response(job.as_dict())


@routes.post(
    "/api/v1/categories",
    summary="Add a course category (academy administrators)",
    body=NewCategory,
    response=Category,
    status=201,
    errors=(409,),
)
async def add_category_api(request: web.Request, body: NewCategory) -> web.Response:
    view = await categories.add_category(
        ctx_of(request), actor_of(request), body.code, body.name, body.ordinal
    )
    return json_response(view.as_dict(), status=201)


@routes.patch(
    "/api/v1/categories/{code}",
    summary="Rename or reorder a course category (academy administrators)",
    path=CategoryPath,
    body=CategoryChanges,
    response=Category,
    errors=(409,),
)
async def change_category_api(
    request: web.Request, path: CategoryPath, body: CategoryChanges
) -> web.Response:
    view = await categories.change_category(
        ctx_of(request), actor_of(request), path.code, name=body.name, ordinal=body.ordinal
    )
    return json_response(view.as_dict())


# ---------------------------------------------------------------- pages


async def _list_page(
    request: web.Request,
    query: ManagedPageQuery,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    total, rows = await workbench.managed_courses(
        ctx,
        actor,
        q=query.q,
        status=query.status or "",
        offset=(query.page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return page(
        request,
        "authoring/list.html",
        {
            "rows": rows,
            "total": total,
            "f": query,
            "pages": total.pages(PER_PAGE),
            "categories": await catalog_search.categories(ctx),
            "form": form or {},
            "error": error,
            "message": MESSAGES.get(query.msg),
            "academy": actor.role is Role.ACADEMY_ADMIN,
        },
        status=status,
    )


@routes.get("/admin/courses", query=ManagedPageQuery)
async def list_page(request: web.Request, query: ManagedPageQuery) -> web.Response:
    return await _list_page(request, query)


@routes.post("/admin/courses", form=CourseForm)
async def create_form(request: web.Request, form: Form[CourseForm]) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    try:
        values = form.valid()
        # The academy writes provincial courses; a city's administrator its local ones.
        owner = None
        if values.owner == "province" and actor.role is Role.ACADEMY_ADMIN:
            owner = actor.org_id
        course_id = await authoring.create_draft(ctx, actor, values.fields(), owner_org_id=owner)
    except ProctorError as exc:
        return await _list_page(
            request, ManagedPageQuery(), form=form.fields, error=exc.message, status=exc.status
        )
    raise web.HTTPSeeOther(f"/admin/courses/{course_id}?msg=created")


async def _edit_page(
    request: web.Request,
    course_id: int,
    *,
    message: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    view = await workbench.editing(ctx, actor, course_id)
    course = view.detail.course
    rules = credit_rules(ctx.settings)
    designated = view.detail.course.credits if course.designated else None
    return page(
        request,
        "authoring/edit.html",
        {
            "e": view,
            "c": course,
            "d": view.detail,
            "categories": await catalog_search.categories(ctx),
            "preview": _preview(course.kind, max(course.lecture_seconds, 1), designated, rules),
            "message": message,
            "error": error,
            "form": form or {},
            "max_video_mb": ctx.settings.max_video_bytes // 1024 // 1024,
        },
        status=status,
    )


@routes.get("/admin/courses/{course_id}", path=CoursePath, query=MsgQuery)
async def edit_page(request: web.Request, path: CoursePath, query: MsgQuery) -> web.Response:
    return await _edit_page(request, path.course_id, message=MESSAGES.get(query.msg))


@routes.post("/admin/courses/{course_id}", path=CoursePath, form=CourseForm)
async def save_form(request: web.Request, path: CoursePath, form: Form[CourseForm]) -> web.Response:
    try:
        await authoring.update_course(
            ctx_of(request), actor_of(request), path.course_id, form.valid().fields()
        )
    except ProctorError as exc:
        return await _edit_page(
            request, path.course_id, error=exc.message, form=form.fields, status=exc.status
        )
    raise web.HTTPSeeOther(f"/admin/courses/{path.course_id}?msg=saved")


@routes.post("/admin/courses/{course_id}/lessons", path=CoursePath, form=LessonForm)
async def add_lesson_form(
    request: web.Request, path: CoursePath, form: Form[LessonForm]
) -> web.Response:
    try:
        await lessons.add_lesson(
            ctx_of(request), actor_of(request), path.course_id, form.valid().title
        )
    except ProctorError as exc:
        return await _edit_page(request, path.course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{path.course_id}?msg=lesson")


async def _course_of_lesson(request: web.Request, lesson_id: int) -> int:
    return await media.course_of_lesson(ctx_of(request), actor_of(request), lesson_id)


@routes.post("/admin/lessons/{lesson_id}/rename", path=LessonPath, form=LessonForm)
async def rename_lesson_form(
    request: web.Request, path: LessonPath, form: Form[LessonForm]
) -> web.Response:
    course_id = await _course_of_lesson(request, path.lesson_id)
    try:
        await lessons.rename_lesson(
            ctx_of(request), actor_of(request), path.lesson_id, form.valid().title
        )
    except ProctorError as exc:
        return await _edit_page(request, course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{course_id}?msg=saved")


@routes.post("/admin/lessons/{lesson_id}/delete", path=LessonPath)
async def remove_lesson_form(request: web.Request, path: LessonPath) -> web.Response:
    course_id = await _course_of_lesson(request, path.lesson_id)
    try:
        await lessons.remove_lesson(ctx_of(request), actor_of(request), path.lesson_id)
    except ProctorError as exc:
        return await _edit_page(request, course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{course_id}?msg=removed")


@routes.post("/admin/lessons/{lesson_id}/video", path=LessonPath, upload="file")
async def video_form(request: web.Request, path: LessonPath) -> web.Response:
    course_id = await _course_of_lesson(request, path.lesson_id)
    try:
        await _receive_video(request, path.lesson_id)
    except ProctorError as exc:
        return await _edit_page(request, course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{course_id}?msg=uploaded")


@routes.post("/admin/courses/{course_id}/publish", path=CoursePath)
async def publish_form(request: web.Request, path: CoursePath) -> web.Response:
    try:
        await lessons.publish(ctx_of(request), actor_of(request), path.course_id)
    except ProctorError as exc:
        return await _edit_page(request, path.course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{path.course_id}?msg=published")


@routes.post("/admin/courses/{course_id}/retire", path=CoursePath)
async def retire_form(request: web.Request, path: CoursePath) -> web.Response:
    try:
        await lessons.retire(ctx_of(request), actor_of(request), path.course_id)
    except ProctorError as exc:
        return await _edit_page(request, path.course_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/courses/{path.course_id}?msg=retired")


async def _categories_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    actor_of(request).require(frozenset({Role.ACADEMY_ADMIN}), "设置课程分类")
    rows = await categories.list_categories(ctx_of(request))
    return page(request, "authoring/categories.html", {"rows": rows, "error": error}, status=status)


@routes.get("/admin/categories")
async def categories_page(request: web.Request) -> web.Response:
    return await _categories_page(request)


@routes.post("/admin/categories", form=NewCategoryForm)
async def add_category_form(request: web.Request, form: Form[NewCategoryForm]) -> web.Response:
    try:
        new = form.valid()
        await categories.add_category(
            ctx_of(request), actor_of(request), new.code, new.name, new.ordinal
        )
    except ProctorError as exc:
        return await _categories_page(request, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther("/admin/categories")


@routes.post("/admin/categories/{code}", path=CategoryPath, form=CategoryForm)
async def change_category_form(
    request: web.Request, path: CategoryPath, form: Form[CategoryForm]
) -> web.Response:
    try:
        values = form.valid()
        await categories.change_category(
            ctx_of(request),
            actor_of(request),
            path.code,
            name=values.name,
            ordinal=values.ordinal,
        )
    except ProctorError as exc:
        return await _categories_page(request, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther("/admin/categories")
