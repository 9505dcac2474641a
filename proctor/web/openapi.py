"""The OpenAPI document, assembled from the operations each handler module declares."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.web.render import json_response

PROBLEM = {
    "description": "Problem (RFC 9457): `detail` says what was wrong, `field` names the field",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def op(
    summary: str,
    *,
    tag: str,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    response: dict[str, Any] | None = None,
    content_type: str = "application/json",
    errors: tuple[int, ...] = (400, 401, 403, 404, 422),
) -> dict[str, Any]:
    """One operation object: summary, parameters, body schema, responses."""
    operation: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {content_type: {"schema": body}}}
    ok: dict[str, Any] = {"description": "OK"}
    if response is not None:
        ok["content"] = {"application/json": {"schema": response}}
    operation["responses"] = {"200": ok} | {str(code): PROBLEM for code in errors}
    return operation


def path_id(name: str) -> dict[str, Any]:
    """An integer path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def obj(**props: Any) -> dict[str, Any]:
    """A JSON object schema with the given properties, all required."""
    return {"type": "object", "properties": props, "required": list(props)}


STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
DECIMAL: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d{1,2})?$",
    "description": "exact decimal",
}


def build_document(paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
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
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": STR,
                        "title": STR,
                        "status": INT,
                        "detail": STR,
                        "field": STR,
                    },
                    "required": ["type", "title", "status", "detail"],
                }
            },
        },
        "security": [{"bearer": []}],
    }


OPENAPI_DOC = web.AppKey("openapi_doc", dict)


async def serve_document(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return json_response(request.config_dict[OPENAPI_DOC])
