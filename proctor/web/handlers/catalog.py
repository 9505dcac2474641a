"""Course catalog, course detail, authoring and enrolment (pages and API)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from models import Role
from proctor.catalog import authoring, classes, enrolment
from proctor.catalog import search as catalog_search
from proctor.catalog.inputs import MAX_LECTURE_SECONDS, MAX_LESSONS
from proctor.credits.policy import credit_rules
from proctor.study.resume import my_standings
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import (
    Credits,
    DecimalText,
    Flag,
    Input,
    Output,
    Page,
    RecordId,
    chars,
)
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="catalog")

Kind = Literal["required", "elective"]
LectureSeconds = Annotated[int, Field(ge=1, le=MAX_LECTURE_SECONDS)]


class CoursePath(Input):
    course_id: RecordId


class CatalogQuery(Input):
    category: Annotated[str, chars(32, required=False, description="category code")] = ""
    kind: Kind | None = None
    q: Annotated[
        str, chars(50, required=False, description="words of the title or lecturer, or the code")
    ] = ""
    page: Page = 1


class LessonIn(Input):
    title: Annotated[str, chars(200)]
    duration_seconds: LectureSeconds
    video_url: Annotated[str, chars(300, required=False)] = ""


class CourseChanges(Input):
    """A course's fields; in a change, each one sent replaces the stored one."""

    title: Annotated[str, chars(200)] | None = None
    category: (
        Annotated[str, chars(32, description="category code, see /api/v1/categories")] | None
    ) = None
    kind: Kind | None = None
    lecture_seconds: LectureSeconds | None = None
    designated_credits: Credits | None = Field(
        None, description="overrides the computed credits; null: computed"
    )
    lecturer: Annotated[str, chars(100, required=False)] | None = None
    description: Annotated[str, chars(5000, required=False)] | None = None
    published: Flag | None = None
    lessons: Annotated[list[LessonIn], Field(min_length=1, max_length=MAX_LESSONS)] | None = Field(
        None, description="replaces the list (lessons keep their ids by position)"
    )


class NewCourse(CourseChanges):
    title: Annotated[str, chars(200)]
    category: Annotated[str, chars(32, description="category code, see /api/v1/categories")]
    kind: Kind
    lecture_seconds: LectureSeconds
    lessons: Annotated[list[LessonIn], Field(min_length=1, max_length=MAX_LESSONS)]
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] | None = None
    owner_org_id: RecordId | None = Field(
        None, description="province or city owning the course; default: mine"
    )


class BackForm(Input):
    next: Annotated[str, chars(2000, required=False)] = ""


class Category(Output):
    code: str
    name: str
    ordinal: int


class Categories(Output):
    items: list[Category]


class Course(Output):
    id: int
    code: str
    title: str
    category: str
    category_name: str
    kind: Kind
    kind_label: str
    lecture_seconds: int
    lecture_minutes: str
    class_hours: int
    credits: DecimalText
    designated: bool
    owner_org_id: int
    owner_name: str
    local: bool
    published: bool
    lecturer: str
    description: str
    lesson_count: int
    enrolled: bool | None = Field(description="learners only")
    completed: bool | None = Field(description="learners only")


class Lesson(Output):
    id: int
    ordinal: int
    title: str
    duration_seconds: int
    video_url: str


class CourseDetail(Course):
    lessons: list[Lesson]
    enrolment_source: Literal["self", "class"] | None
    can_manage: bool
    classes: list[str]


class CoursePage(Output):
    total: int
    page: int
    per_page: int
    items: list[Course]


class Enrolment(Output):
    course: Course
    source: Literal["self", "class"]
    training_class_id: int | None
    enrolled_at: dt.datetime


class Enrolments(Output):
    items: list[Enrolment]


class Withdrawn(Output):
    course_id: int
    enrolled: bool


def _filters(query: CatalogQuery) -> dict[str, Any]:
    return {"category": query.category, "kind": query.kind or "", "q": query.q, "page": query.page}


@routes.get("/api/v1/categories", summary="The ten course categories (Art. 7)", response=Categories)
async def categories_api(request: web.Request) -> web.Response:
    rows = await catalog_search.categories(ctx_of(request))
    return json_response(
        {"items": [{"code": c.code, "name": c.name, "ordinal": c.ordinal} for c in rows]}
    )


@routes.get(
    "/api/v1/courses",
    summary="Courses visible to me, required first, with the credits each will earn",
    query=CatalogQuery,
    response=CoursePage,
)
async def search_api(request: web.Request, query: CatalogQuery) -> web.Response:
    total, rows = await catalog_search.search(ctx_of(request), actor_of(request), **_filters(query))
    return json_response(
        {
            "total": total,
            "page": query.page,
            "per_page": catalog_search.PER_PAGE,
            "items": [r.as_dict() for r in rows],
        }
    )


@routes.get(
    "/api/v1/courses/{course_id}",
    summary="A course with its lessons and credits (404 when not visible to me)",
    path=CoursePath,
    response=CourseDetail,
)
async def get_api(request: web.Request, path: CoursePath) -> web.Response:
    detail = await catalog_search.get_course(ctx_of(request), actor_of(request), path.course_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/courses",
    summary="Create a course: provincial (academy administrator) or local to my city "
    "(city org administrator)",
    body=NewCourse,
    response=CourseDetail,
    status=201,
    errors=(404, 409),
)
async def create_api(request: web.Request, body: NewCourse) -> web.Response:
    data = body.model_dump(mode="json", exclude_unset=True)
    owner = data.pop("owner_org_id", None)
    detail = await authoring.create_course(
        ctx_of(request), actor_of(request), data, owner_org_id=owner
    )
    return json_response(detail.as_dict(), status=201)


@routes.patch(
    "/api/v1/courses/{course_id}",
    summary="Change a course I manage; `published: false` withdraws it from the catalog; "
    "`lessons` replaces the list (lessons keep their ids by position)",
    path=CoursePath,
    body=CourseChanges,
    response=CourseDetail,
    errors=(409,),
)
async def update_api(request: web.Request, path: CoursePath, body: CourseChanges) -> web.Response:
    detail = await authoring.update_course(
        ctx_of(request),
        actor_of(request),
        path.course_id,
        body.model_dump(mode="json", exclude_unset=True),
    )
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/courses/{course_id}/enrol",
    summary="Enrol in a course (learners; idempotent)",
    path=CoursePath,
    response=Enrolment,
)
async def enrol_api(request: web.Request, path: CoursePath) -> web.Response:
    view = await enrolment.enrol(ctx_of(request), actor_of(request), path.course_id)
    return json_response(view.as_dict())


@routes.delete(
    "/api/v1/courses/{course_id}/enrol",
    summary="Withdraw from an elective not yet completed and not part of one of my classes",
    path=CoursePath,
    response=Withdrawn,
    errors=(409,),
)
async def withdraw_api(request: web.Request, path: CoursePath) -> web.Response:
    await enrolment.withdraw(ctx_of(request), actor_of(request), path.course_id)
    return json_response({"course_id": path.course_id, "enrolled": False})


@routes.get(
    "/api/v1/me/courses", summary="My enrolments (learners), newest first", response=Enrolments
)
async def my_courses_api(request: web.Request) -> web.Response:
    rows = await enrolment.my_courses(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.get("/catalog", query=CatalogQuery)
async def catalog_page(request: web.Request, query: CatalogQuery) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    total, rows = await catalog_search.search(ctx, actor, **_filters(query))
    return page(
        request,
        "catalog/list.html",
        {
            "filters": _filters(query),
            "total": total,
            "rows": rows,
            "categories": await catalog_search.categories(ctx),
            "pages": (total + catalog_search.PER_PAGE - 1) // catalog_search.PER_PAGE,
            "my_classes": await classes.my_classes(ctx, actor),
            "is_learner": actor.role is Role.LEARNER,
            "rules": credit_rules(ctx.settings),
        },
    )


@routes.get("/catalog/{course_id}", path=CoursePath)
async def detail_page(request: web.Request, path: CoursePath) -> web.Response:
    actor = actor_of(request)
    detail = await catalog_search.get_course(ctx_of(request), actor, path.course_id)
    # get_course has checked the learner may see the course.
    mine = await my_standings(ctx_of(request), actor, [path.course_id])
    return page(
        request,
        "catalog/detail.html",
        {
            "d": detail,
            "c": detail.course,
            "is_learner": actor.role is Role.LEARNER,
            "standing": mine.get(path.course_id),
        },
    )


def _back(form: Form[BackForm], course_id: int) -> str:
    target = form.get("next")
    # Only local paths: a form field must never send the browser off-site.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return f"/catalog/{course_id}"


@routes.post("/catalog/{course_id}/enrol", path=CoursePath, form=BackForm)
async def enrol_form(request: web.Request, path: CoursePath, form: Form[BackForm]) -> web.Response:
    await enrolment.enrol(ctx_of(request), actor_of(request), path.course_id)
    raise web.HTTPSeeOther(_back(form, path.course_id))


@routes.post("/catalog/{course_id}/withdraw", path=CoursePath, form=BackForm)
async def withdraw_form(
    request: web.Request, path: CoursePath, form: Form[BackForm]
) -> web.Response:
    await enrolment.withdraw(ctx_of(request), actor_of(request), path.course_id)
    raise web.HTTPSeeOther(_back(form, path.course_id))
