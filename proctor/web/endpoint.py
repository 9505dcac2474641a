"""The request layer: each route declares once what it takes and answers.

A route names pydantic models for its path ids, query parameters and JSON body (or, for a page,
its form), its success status and the statuses its service may refuse with. The layer checks the
request against them before the handler runs (so before any database work) and hands the handler
typed values; the OpenAPI document is generated from the same declarations (`proctor.web.openapi`).

Path ids that fail their model name no record: 404. Query and body fields that fail: 422 naming
the field. A JSON body must be sent as `application/json` (415 otherwise) and is decoded by the
one JSON decoder the tracker also uses (NaN, Infinity and deep nesting refused).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from multidict import MultiDict, MultiDictProxy
from pydantic import BaseModel

from proctor.kernel.errors import InvalidInput, NotFound, TooLarge, UnsupportedMediaType
from proctor.web.fields import MAX_ID
from proctor.web.validation import validate
from tracker.protocol import MalformedJson, load_json

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Declared = Callable[..., Awaitable[web.StreamResponse]]
D = TypeVar("D", bound=Declared)

JSON = "application/json"
MULTIPART = "multipart/form-data"
# Multipart framing around an uploaded file; the file itself is held to max_upload_bytes.
FRAMING_BYTES = 64 * 1024
# How aiohttp refuses a malformed multipart body: errors for bad part headers (control
# characters, bad encodings), warnings for a bad Content-Disposition (raised where warnings are
# errors; elsewhere the part simply has no name and counts as missing).
MALFORMED_PARTS = (
    ValueError,
    AssertionError,
    HttpProcessingError,
    BadContentDispositionHeader,
    BadContentDispositionParam,
)


@dataclass(frozen=True)
class Binary:
    """A response that is a file of this media type (XLSX, CSV)."""

    media_type: str


@dataclass(frozen=True)
class Operation:
    """One route as declared: what it takes, what it answers."""

    method: str
    url: str
    handler: Declared
    summary: str
    tag: str
    path: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    max_body: int | None = None
    form: type[BaseModel] | None = None
    upload: str | None = None
    response: type[BaseModel] | Binary | None = None
    status: int = 200
    # Other success statuses with the same body (e.g. 200 when a start resumes, 201 creates).
    also: tuple[int, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False
    # Wraps the whole route, parsing included (the tracker's error translation).
    around: Callable[[Handler], Handler] | None = None

    @property
    def documented(self) -> bool:
        """JSON API routes are in the OpenAPI document; pages are not."""
        return self.url.startswith("/api/")

    def statuses(self) -> list[int]:
        """Every status the route can answer besides its success."""
        codes = set(self.errors) | {400}
        if not self.public:
            # 401 without a login; 403 for a pending password change or a foreign origin.
            codes |= {401, 403}
        if self.path is not None or any(_names_records(m) for m in (self.query, self.body)):
            # An id of a record that does not exist, or lies outside the caller's authority.
            codes.add(404)
        if self.query or self.body or self.form or self.upload:
            codes.add(422)
        if self.body is not None:
            codes |= {413, 415}
        if self.upload is not None:
            codes.add(413)
        return sorted(codes - {self.status, *self.also})


def _names_records(model: type[BaseModel] | None) -> bool:
    """Whether a model carries record ids (RecordId fields, however nested)."""
    return model is not None and f'"maximum": {MAX_ID}' in json.dumps(model.model_json_schema())


class Form(Generic[M]):
    """A page's posted form: the raw fields (to show the form again) and its checked values.

    Pages check the form inside the handler so that a mistake is shown on the page it came from.
    """

    def __init__(self, model: type[M], fields: MultiDictProxy[str]) -> None:
        self.model = model
        self.all = fields
        self.fields = {k: v for k, v in fields.items()}

    def get(self, name: str, default: str = "") -> str:
        """A raw field as posted."""
        return self.fields.get(name, default)

    def valid(self) -> M:
        """The checked values, or the 422 naming the first bad field (a repeated field, such as
        a group of checkboxes, is a list)."""
        data: dict[str, str | list[str]] = {}
        for name in self.all:
            values = [v for v in self.all.getall(name) if v != ""]
            if values:
                data[name] = values if len(values) > 1 else values[0]
        return validate(self.model, data)


def _present(values: Mapping[str, str]) -> dict[str, str]:
    # An empty query parameter or form field means "not given" (filter forms send them all).
    return {k: v for k, v in values.items() if v != ""}


class Routes:
    """A feature's routes: aiohttp route definitions plus the declarations they were made from."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def get(self, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a GET route."""
        return self.route("GET", url, **declared)

    def post(self, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a POST route."""
        return self.route("POST", url, **declared)

    def put(self, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a PUT route."""
        return self.route("PUT", url, **declared)

    def patch(self, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a PATCH route."""
        return self.route("PATCH", url, **declared)

    def delete(self, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a DELETE route."""
        return self.route("DELETE", url, **declared)

    def route(self, method: str, url: str, **declared: Any) -> Callable[[D], D]:
        """Declare a route; the handler receives the checked ``path``, ``query``, ``body`` or
        ``form`` it declares, by those names."""

        def register(handler: D) -> D:
            doc = inspect.getdoc(handler) or ""
            operation = Operation(
                method=method,
                url=url,
                handler=handler,
                summary=declared.pop("summary", doc),
                tag=declared.pop("tag", self.tag),
                **declared,
            )
            _check_signature(operation)
            self.operations.append(operation)
            return handler

        return register

    def route_defs(self) -> list[web.RouteDef]:
        """The aiohttp routes, each parsing its request before calling the handler."""
        return [
            web.route(op.method, op.url, op.around(_parsing(op)) if op.around else _parsing(op))
            for op in self.operations
        ]


def _inputs(op: Operation) -> set[str]:
    return {name for name in ("path", "query", "body", "form") if getattr(op, name) is not None}


def _check_signature(op: Operation) -> None:
    params = set(inspect.signature(op.handler).parameters) - {"request"}
    if params != _inputs(op):
        raise TypeError(
            f"{op.method} {op.url}: handler takes {sorted(params)}, route declares "
            f"{sorted(_inputs(op))}"
        )


def _parsing(op: Operation) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        values: dict[str, Any] = {}
        if op.path is not None:
            values["path"] = path_values(op.path, request.match_info)
        if op.query is not None:
            values["query"] = validate(op.query, _present(request.query))
        if op.body is not None:
            data = await json_object(request, required=op.body_required, limit=op.max_body)
            values["body"] = validate(op.body, data or {})
        if op.form is not None:
            values["form"] = Form(op.form, await form_fields(request))
        return await op.handler(request, **values)

    handler.__name__ = op.handler.__name__
    return handler


def path_values(model: type[M], match: Mapping[str, str]) -> M:
    """Path ids: one that is not a valid id names no record, so it is a 404, not a 422."""
    try:
        return validate(model, dict(match))
    except InvalidInput as exc:
        raise NotFound("资源不存在或不在您的管理范围内", field=exc.field) from None


async def json_object(
    request: web.Request, *, required: bool = True, limit: int | None = None
) -> dict[str, Any] | None:
    """The request's JSON object (None when an optional body is absent), or a 4xx naming why."""
    if not request.body_exists:
        if required:
            raise InvalidInput("请求体为空，应为 JSON 对象", field="body")
        return None
    if request.content_type != JSON:
        raise UnsupportedMediaType(
            f"请求体应为 JSON（Content-Type: {JSON}），收到 {request.content_type}", field="body"
        )
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"请求体过大（最多 {limit} 字节）", field="body")
    raw = await request.read()
    if limit is not None and len(raw) > limit:
        raise TooLarge(f"请求体过大（最多 {limit} 字节）", field="body")
    if not raw:
        if required:
            raise InvalidInput("请求体为空，应为 JSON 对象", field="body")
        return None
    try:
        data = load_json(raw)
    except MalformedJson as exc:
        raise InvalidInput(str(exc), field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", field="body")
    return data


async def form_fields(request: web.Request) -> MultiDictProxy[str]:
    """A page's posted fields (text only), or a 422 when the form cannot be read."""
    try:
        posted = await request.post()
    except MALFORMED_PARTS as exc:
        raise InvalidInput("表单内容格式有误，请刷新页面后重试", field="body") from exc
    return MultiDictProxy(MultiDict((k, v) for k, v in posted.items() if isinstance(v, str)))


@dataclass
class Upload:
    """A file posted as multipart form data (field ``file``)."""

    filename: str
    data: bytes = field(repr=False)


async def read_upload(
    request: web.Request, limit: int, *, too_large: str, missing: str, field_name: str = "file"
) -> Upload:
    """The uploaded file, held to limit bytes; a malformed or missing part is a 4xx naming it
    (``too_large`` and ``missing`` are the messages for a file over the limit and for none)."""
    if request.content_length is not None and request.content_length > limit + FRAMING_BYTES:
        raise TooLarge(too_large, field=field_name)
    if not request.content_type.startswith(MULTIPART):
        raise InvalidInput(
            f"请以 {MULTIPART} 方式上传文件，字段名为 {field_name}", field=field_name
        )
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != field_name:
                continue
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(too_large, field=field_name)
                chunks.append(chunk)
            if not part.filename and not size:
                break
            return Upload(part.filename or "", b"".join(chunks))
    except MALFORMED_PARTS as exc:
        raise InvalidInput("上传内容格式有误，请重新选择文件上传", field=field_name) from exc
    raise InvalidInput(missing, field=field_name)
