"""The OpenAPI 3.1 document, generated from the routes' declarations (`proctor.web.endpoint`).

Modules outside proctor (the tracker) keep their own hand-written operations; they are merged in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from proctor.web.endpoint import JSON, MULTIPART, Binary, Operation
from proctor.web.render import json_response

REF = "#/components/schemas/{model}"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM = {
    "description": "Problem (RFC 9457): `detail` says what was wrong, `field` names the field",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
REASONS = {
    200: "OK",
    201: "Created",
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed for my role, a password change is pending, or the origin is foreign",
    404: "No such record, or not within my authority",
    409: "The record's state does not allow this",
    410: "Gone: already taken",
    413: "Body or file over its limit",
    415: "Body not in the media type the route takes",
    422: "A field is missing or invalid (`field` names it)",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "A backing service is unavailable; retry later",
}


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema as a parameter: no title, no null branch (absent means null)."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        schema.pop("anyOf")
        if len(rest) == 1:
            schema |= rest[0]
        else:
            schema["anyOf"] = rest
    if schema.get("default", 0) is None:
        schema.pop("default")
    return schema


def parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    """Path or query parameters, one per field of the model."""
    if model is None:
        return []
    properties = model.model_json_schema()["properties"]
    params = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        param: dict[str, Any] = {
            "name": key,
            "in": where,
            "required": where == "path" or info.is_required(),
            "schema": _strip(properties[key]),
        }
        if info.description:
            param["description"] = info.description
        params.append(param)
    return params


class _Schemas:
    """Every model the operations name, rendered once into components/schemas."""

    def __init__(self, operations: list[Operation]) -> None:
        wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
        for op in operations:
            if op.body is not None:
                wanted.append((op.body, "validation"))
            if isinstance(op.response, type):
                wanted.append((op.response, "serialization"))
        refs, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
        self.refs = refs
        self.components: dict[str, Any] = defs.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])


def _operation(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    params = parameters(op.path, "path") + parameters(op.query, "query")
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {JSON: {"schema": schemas.ref(op.body, "validation")}},
        }
    elif op.upload is not None:
        out["requestBody"] = {
            "required": True,
            "content": {
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "properties": {op.upload: {"type": "string", "format": "binary"}},
                        "required": [op.upload],
                    }
                }
            },
        }
    ok: dict[str, Any] = {"description": REASONS.get(op.status, "OK")}
    if isinstance(op.response, Binary):
        ok["content"] = {op.response.media_type: {"schema": {"type": "string", "format": "binary"}}}
    elif op.response is not None:
        ok["content"] = {JSON: {"schema": schemas.ref(op.response, "serialization")}}
    responses: dict[str, Any] = {str(op.status): ok}
    for code in op.also:
        responses[str(code)] = ok | {"description": REASONS.get(code, "OK")}
    for code in op.statuses():
        responses[str(code)] = PROBLEM | {"description": REASONS.get(code, PROBLEM["description"])}
    out["responses"] = responses
    if op.public:
        out["security"] = []
    return out


def openapi_path(url: str) -> str:
    """An aiohttp route path as an OpenAPI path template (regex constraints dropped)."""
    return re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", url)


def build_document(
    operations: Iterable[Operation], foreign: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document: the declared API routes, plus foreign operations."""
    documented = [op for op in operations if op.documented]
    schemas = _Schemas(documented)
    paths: dict[str, dict[str, Any]] = {}
    for op in documented:
        paths.setdefault(openapi_path(op.url), {})[op.method.lower()] = _operation(op, schemas)
    for path, ops in (foreign or {}).items():
        paths.setdefault(path, {}).update(ops)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "proctor API",
            "version": "1",
            "description": "Learning system, attendance tracking and review for the cadre network academy. "
            "Authenticate with POST /api/v1/login, then send `Authorization: Bearer <token>`.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": PROBLEM_SCHEMA} | dict(sorted(schemas.components.items())),
        },
        "security": [{"bearer": []}],
    }


OPENAPI_DOC = web.AppKey("openapi_doc", dict)


async def serve_document(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return json_response(request.config_dict[OPENAPI_DOC])
