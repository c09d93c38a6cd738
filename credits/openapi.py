"""The OpenAPI 3.1 description of the machine API under /api/v1/ (a test holds it to the URLconf)."""

import copy
from typing import Any

from credits.models import ModelKind
from credits.money import format_usd
from credits.selectors.limits import LimitSource
from credits.services.usage import (
    ALL_QUANTITY_FIELDS,
    EVENT_ID_MAX_LENGTH,
    MAX_BATCH_EVENTS,
    MAX_EVENT_COST_MICROS,
    MAX_QUANTITY,
    QUANTITY_FIELDS,
)

_QUANTITY = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_QUANTITY,
    "description": "A JSON integer: 1.0 and true are refused.",
}
# Organization ids are positive 64-bit integers (PostgreSQL bigint).
_ORGANIZATION_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_MICRO_DOLLARS = {
    "type": "string",
    "pattern": r"^-?\d+\.\d{6}$",
    "description": "US dollars with six decimals (micro-dollar precision), e.g. \"-0.000150\".",
}


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def _error(description: str) -> dict:
    return _json("Error", description)


SCHEMAS = {
    "UsageEvent": {
        "type": "object",
        "required": ["event_id", "organization", "model", "occurred_at"],
        "description": (
            "One call of the API. LLMs are priced by input_tokens and output_tokens, "
            "embedding models by input_tokens, document models by pages; send at least one "
            "quantity the model is priced by and no other. At the catalog's prices one call may "
            f"cost at most {format_usd(MAX_EVENT_COST_MICROS)}; a costlier one refuses the batch."
        ),
        "properties": {
            "event_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": EVENT_ID_MAX_LENGTH,
                # No NUL (PostgreSQL text cannot hold it), and at least one character that
                # is not a space or an ASCII control character.
                "allOf": [{"pattern": "^[^\\u0000]*$"}, {"pattern": "[^\\u0000-\\u0020\\u007f]"}],
                "description": (
                    "Unique per call; an id recorded before is ignored (idempotency). Text "
                    "UTF-8 can hold: an unpaired surrogate escape (\\ud800 alone) is refused."
                ),
            },
            "organization": {**_ORGANIZATION_ID, "description": "The organization's id; it must exist."},
            "model": {"type": "string", "description": "The model's slug, e.g. solar-pro-2."},
            "input_tokens": _QUANTITY,
            "output_tokens": _QUANTITY,
            "pages": _QUANTITY,
            "occurred_at": {
                "type": "string",
                "format": "date-time",
                "description": (
                    "ISO 8601 with an offset, e.g. 2026-01-31T12:00:00Z; from 2020-01-01 "
                    "to one day ahead of the server's clock."
                ),
            },
        },
        "anyOf": [
            {"required": ["input_tokens"]},
            {"required": ["output_tokens"]},
            {"required": ["pages"]},
        ],
    },
    "UsageBatch": {
        "type": "object",
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH_EVENTS,
                "items": {"$ref": "#/components/schemas/UsageEvent"},
                "description": (
                    "Each event_id at most once per batch (JSON Schema cannot say so: a "
                    "batch that repeats one is refused with code duplicate_in_batch)."
                ),
            }
        },
    },
    "Balance": {
        "type": "object",
        "required": ["balance", "balance_micros"],
        "properties": {
            "balance": _MICRO_DOLLARS,
            "balance_micros": {"type": "integer", "description": "The balance in 1e-6 USD; may be negative."},
        },
    },
    "UsageBatchResult": {
        "type": "object",
        "required": ["accepted", "duplicates", "balances"],
        "properties": {
            "accepted": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Event ids recorded and debited by this request.",
            },
            "duplicates": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Event ids recorded before; ignored.",
            },
            "balances": {
                "type": "object",
                "description": "Each organization of the batch (by id) and its balance afterwards.",
                "additionalProperties": {"$ref": "#/components/schemas/Balance"},
            },
        },
    },
    "RateLimit": {
        "type": "object",
        "required": ["model", "name", "requests_per_second", "pages_per_minute", "source"],
        "properties": {
            "model": {"type": "string"},
            "name": {"type": "string"},
            "requests_per_second": {"type": "integer"},
            "pages_per_minute": {"type": ["integer", "null"], "description": "Document models only."},
            "source": {
                "type": "string",
                "enum": [LimitSource.TIER, LimitSource.LEGACY, LimitSource.ENTERPRISE],
            },
        },
    },
    "RateLimits": {
        "type": "object",
        "required": ["organization", "tier", "limits"],
        "properties": {
            "organization": {"type": "integer"},
            "tier": {"type": "string", "enum": ["none", "explore", "build", "scale", "enterprise"]},
            "limits": {"type": "array", "items": {"$ref": "#/components/schemas/RateLimit"}},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": ["string", "null"], "description": "The offending field."},
                    "index": {"type": ["integer", "null"], "description": "The event's position."},
                    "event_id": {"type": ["string", "null"]},
                },
            }
        },
    },
}

_UNAUTHORIZED = _error("Missing, unknown or revoked API key.")

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Billing portal machine API",
        "version": "1",
        "description": "Usage reporting and rate limits for the API platform.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
    },
    "paths": {
        "/api/v1/usage/": {
            "post": {
                "operationId": "recordUsage",
                "summary": "Record and debit a batch of usage events",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/UsageBatch"}}
                    },
                },
                "responses": {
                    "201": _json("UsageBatchResult", "At least one event was new."),
                    "200": _json("UsageBatchResult", "Every event was a duplicate."),
                    "400": _error("The batch was refused whole; nothing was recorded."),
                    "401": _UNAUTHORIZED,
                    "413": _error("The body is larger than the server accepts."),
                },
            }
        },
        "/api/v1/rate-limits/{organization_id}/": {
            "get": {
                "operationId": "getRateLimits",
                "summary": "An organization's current tier and limits per model",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "organization_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    }
                ],
                "responses": {
                    "200": _json("RateLimits", "The limits in force now."),
                    "401": _UNAUTHORIZED,
                    "404": _error("No such organization (or not an organization id)."),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    },
}


def _priced_by(kind: str, slugs: list[str]) -> dict:
    """An event of one kind of model: its slugs, the quantities it is priced by (at least
    one) and none of the others."""
    fields = QUANTITY_FIELDS[ModelKind(kind)]
    others = [field for field in ALL_QUANTITY_FIELDS if field not in fields]
    branch: dict = {
        "properties": {"model": {"enum": slugs}},
        "anyOf": [{"required": [field]} for field in fields],
    }
    if others:
        branch["not"] = {"anyOf": [{"required": [field]} for field in others]}
    return branch


def openapi_document(*, slugs_by_kind: dict[str, list[str]]) -> dict:
    """The document with the catalog in it: which model slugs exist and which quantities
    each is priced by, so a client (or a fuzzer) knows what the server accepts."""
    document: dict[str, Any] = copy.deepcopy(DOCUMENT)
    event: dict[str, Any] = document["components"]["schemas"]["UsageEvent"]
    branches = [_priced_by(kind, sorted(slugs)) for kind, slugs in sorted(slugs_by_kind.items()) if slugs]
    del event["anyOf"]
    # With no model in the catalog no event is valid.
    event["oneOf"] = branches or [{"not": {}}]
    return document
