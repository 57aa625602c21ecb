"""The OpenAPI document's settings, what Litestar does not derive itself, and its page.

Builds on Litestar's own (private) msgspec schema plugin, so that everything
else about Struct schemas stays as Litestar makes it; litestar is pinned < 3.
The page is Swagger UI from the ``swagger-ui-py`` package, served by the app
itself under ``/schema/assets``: it works offline and loads nothing from a CDN.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Router
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIType,
    Reference,
    Schema,
    SecurityRequirement,
    Tag,
)
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

#: Where the document and its page live.
SCHEMA_PATH = "/schema"
#: Where, under it, the page's own scripts, stylesheet and icons are served.
ASSETS_PATH = "/assets"
DESCRIPTION = (
    "Event-sourced case management for marketplace orders that are not shipped. Every error "
    "is `application/problem+json` (RFC 9457). Every POST accepts `Idempotency-Key`; dispute "
    "responses carry `version` and an `ETag`, and commands accept `If-Match`. Times are RFC "
    '3339 with an offset; money is `{"amount": "12.50", "currency": "USD"}`.'
)
#: Every tag an operation may carry, in the order the page lists them.
TAGS = (
    Tag(name="orders", description="Orders fed in by the platform"),
    Tag(name="disputes", description="Cases: views, history, commands"),
    Tag(name="moderation", description="The moderators' queue and the marketplace's metrics"),
    Tag(name="sellers", description="Sellers: search, their page and their scorecard"),
    Tag(name="policies", description="Versioned marketplace rules and the reason codes "
        "rulings name"),
    Tag(name="deadlines", description="The policy's timers"),
    Tag(name="simulations", description="Replay the history under a candidate"),
    Tag(name="events", description="Events out: the public event feed and live streams "
        "(server-sent events)"),
    Tag(name="webhooks", description="Signed deliveries of the public events to the "
        "platform's endpoints (Standard Webhooks), with a delivery log"),
    Tag(name="audit", description="Who read which case's history and evidence files "
        "(supervising moderators)"),
    Tag(name="health", description="Liveness and readiness"),
)


def openapi_config(
    components: Sequence[Components],
    security: Sequence[SecurityRequirement],
    *,
    version: str,
) -> OpenAPIConfig:
    """The document served at ``/schema/openapi.json`` and its page at ``/schema``."""
    return OpenAPIConfig(
        title="disputedesk",
        version=version,
        description=DESCRIPTION,
        path=SCHEMA_PATH,
        components=list(components),
        security=list(security),
        tags=list(TAGS),
        render_plugins=[LocalSwaggerRenderPlugin()],
    )


def _swagger_ui_directory() -> Path:
    """The files ``swagger-ui-py`` ships: a directory of the installed package."""
    static = files("swagger_ui").joinpath("static")
    if not isinstance(static, Path):
        raise RuntimeError("swagger-ui-py is installed zipped: its files cannot be served")
    return static


def docs_assets_router() -> Router:
    """Swagger UI's files, served by the app under ``/schema/assets``."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_swagger_ui_directory()],
        name="openapi-assets",
        include_in_schema=False,
        send_as_attachment=False,
    )


class LocalSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI whose page names only the app's own URLs."""

    def __init__(self) -> None:
        assets = SCHEMA_PATH + ASSETS_PATH
        super().__init__(
            js_url=f"{assets}/swagger-ui-bundle.js",
            css_url=f"{assets}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(docs_assets_router())


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Structs say what msgspec knows that Litestar leaves out.

    Structs that refuse unknown fields say ``additionalProperties: false``; a
    field whose ``Meta`` names ``extra_json_schema={"enum": [...]}`` (a closed
    vocabulary whose refusal the domain words) lists its values as ``enum``.
    """

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                schema.additional_properties = False
            for field in info.fields:
                prop = (schema.properties or {}).get(field.encode_name)
                if prop is not None:
                    _declare_enum(prop, field.type)
        return schema


def _enum_of(field_type: msgspec.inspect.Type) -> list[Any] | None:
    if isinstance(field_type, msgspec.inspect.Metadata):
        values = (field_type.extra_json_schema or {}).get("enum")
        return list(values) if values else _enum_of(field_type.type)
    if isinstance(field_type, msgspec.inspect.UnionType):
        for member in field_type.types:
            if (found := _enum_of(member)) is not None:
                return found
    return None


def _items_of(field_type: msgspec.inspect.Type) -> msgspec.inspect.Type | None:
    if isinstance(field_type, msgspec.inspect.Metadata):
        return _items_of(field_type.type)
    if isinstance(field_type, msgspec.inspect.UnionType):
        for member in field_type.types:
            if (found := _items_of(member)) is not None:
                return found
    if isinstance(field_type, msgspec.inspect.ListType):
        return field_type.item_type
    return None


def _declare_enum(schema: Schema | Reference, field_type: msgspec.inspect.Type) -> None:
    """Put the field's values on the string schema(s) among its alternatives."""
    if not isinstance(schema, Schema):
        return
    branches = [schema, *(schema.one_of or ()), *(schema.any_of or ())]
    values = _enum_of(field_type)
    items = _items_of(field_type)
    for branch in branches:
        if not isinstance(branch, Schema):
            continue
        if values is not None and branch.type == OpenAPIType.STRING:
            branch.enum = values
        elif items is not None and branch.type == OpenAPIType.ARRAY and branch.items is not None:
            _declare_enum(branch.items, items)
