"""The HTTP API's OpenAPI 3.0 document, served at ``GET /openapi.json``.

Written by hand (it is small) so it says exactly what the routes do; the tests run schemathesis
against a live daemon with it, so a route that answers something this document does not allow
fails them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vigil import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON_ERROR = {"application/json": {"schema": _ERROR}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _JSON_ERROR}


def _object(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


_STORED = {
    "type": "object",
    "required": ["ids", "stored"],
    "properties": {
        "ids": {"type": "array", "items": {"type": "string"}},
        "stored": {"type": "integer", "minimum": 0},
        "duplicate": {"type": "boolean"},
        "unchanged": {"type": "integer", "minimum": 0},
    },
}
_BUSY = {
    "description": "the intake is full or storage is unavailable; retry after Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "string"}}},
    "content": _JSON_ERROR,
}
_UNAUTHORIZED = _error("missing, invalid or revoked token (or signature)")
_FILTERS: list[dict[str, Any]] = [
    {
        "name": "type",
        "in": "query",
        "description": "event type glob, e.g. build.* (repeatable)",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    },
    {
        "name": "after",
        "in": "query",
        "description": "only events after this position (seq)",
        "schema": {"type": "integer", "minimum": 0},
    },
]


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    event_list = {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Vigil",
            "version": __version__,
            "description": "The daemon's HTTP API. Writes need a bearer token "
            "(vigil token create NAME); reads are open on loopback only.",
        },
        "paths": {
            "/healthz": {"get": {"security": [], "responses": {"200": _object("alive")}}},
            "/readyz": {
                "get": {
                    "security": [],
                    "responses": {"200": _object("ready"), "503": _object("not ready")},
                }
            },
            "/metrics": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "404": {
                            "description": "metrics are off",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                    }
                }
            },
            "/openapi.json": {"get": {"responses": {"200": _object("this document")}}},
            "/api/status": {"get": {"responses": {"200": _object("daemon status")}}},
            "/api/health": {"get": {"responses": {"200": _object("components and breakers")}}},
            "/api/events": {
                "get": {
                    "summary": "events, oldest first (the filters of vigil events)",
                    "parameters": [
                        *_FILTERS,
                        {
                            "name": "since",
                            "in": "query",
                            "description": "10m, 2h, 3d, today or ISO 8601",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "events",
                            "content": {"application/json": {"schema": event_list}},
                        },
                        "400": _error("a bad filter"),
                    },
                },
                "post": {
                    "summary": "store one event or an array of them (all or nothing)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/NewEvent"},
                                        {
                                            "type": "array",
                                            "minItems": 1,
                                            "items": {"$ref": "#/components/schemas/NewEvent"},
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _stored("stored"),
                        "200": _stored("a repeated Idempotency-Key: the first request's ids"),
                        "400": _error("malformed JSON or an invalid event"),
                        "401": _UNAUTHORIZED,
                        "413": _error("body over the size limit"),
                        "503": _BUSY,
                    },
                },
            },
            "/api/events/stream": {
                "get": {
                    "summary": "Server-Sent Events; resumable with Last-Event-ID",
                    "parameters": [
                        *_FILTERS,
                        {
                            "name": "Last-Event-ID",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the stream",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        "400": _error("a bad filter or resume point"),
                    },
                }
            },
            "/api/events/{event_id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the event",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Event"}
                                }
                            },
                        },
                        "404": _error("no such event"),
                    },
                }
            },
            "/hooks/github": {
                "post": {
                    "summary": "GitHub webhook deliveries (HMAC-SHA256 signed)",
                    "security": [],
                    "parameters": [
                        _header("X-Hub-Signature-256", True),
                        _header("X-GitHub-Event", True),
                        _header("X-GitHub-Delivery", False),
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "201": _stored("stored"),
                        "200": _object("ping answered, or a repeated delivery"),
                        "202": _object("an event type Vigil does not map: acknowledged"),
                        "400": _error("malformed JSON or payload"),
                        "401": _UNAUTHORIZED,
                        "413": _error("body over the size limit"),
                        "503": _BUSY,
                    },
                }
            },
            "/hooks/alertmanager": {
                "post": {
                    "summary": "Prometheus Alertmanager webhook, payload version 4",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "201": _stored("alerts stored"),
                        "200": _stored("every alert already known in that state"),
                        "400": _error("malformed JSON or payload"),
                        "401": _UNAUTHORIZED,
                        "413": _error("body over the size limit"),
                        "503": _BUSY,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "NewEvent": {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {
                            "type": "string",
                            "pattern": r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$",
                            "maxLength": 200,
                        },
                        "data": {"type": "object"},
                        "time": {"type": "string", "format": "date-time"},
                        **{
                            key: {"type": "string", "nullable": True, "maxLength": 1000}
                            for key in (
                                "source",
                                "subject",
                                "fingerprint",
                                "correlation_id",
                                "causation_id",
                            )
                        },
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["id", "type", "time", "source", "data"],
                    "properties": {
                        "id": {"type": "string"},
                        "seq": {"type": "integer", "nullable": True},
                        "type": {"type": "string"},
                        "time": {"type": "string"},
                        "source": {"type": "string"},
                        "subject": {"type": "string", "nullable": True},
                        "data": {"type": "object"},
                        "fingerprint": {"type": "string", "nullable": True},
                        "causation_id": {"type": "string", "nullable": True},
                        "correlation_id": {"type": "string", "nullable": True},
                    },
                },
            },
        },
    }


def _stored(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _STORED}}}


def _header(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}}


def routes() -> list[Route]:
    cached = document()

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(cached)

    return [Route("/openapi.json", openapi, methods=["GET"])]
