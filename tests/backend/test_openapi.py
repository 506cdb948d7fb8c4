"""The OpenAPI description is complete, explicit and matches the committed snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_every_documented_operation_has_an_explicit_id(settings: Settings) -> None:
    app = create_app(settings)
    missing = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            assert isinstance(handler, HTTPRouteHandler)
            if handler.resolve_include_in_schema() and not handler.operation_id:
                missing.append(route.path)
    assert missing == []


def test_schema_matches_the_committed_snapshot(settings: Settings) -> None:
    live = create_app(settings).openapi_schema.to_schema()
    committed = json.loads(SNAPSHOT.read_text())
    assert live == committed, (
        "The API changed but docs/openapi.json did not. If the change is intended, run `make openapi` "
        "and commit the snapshot (the frontend types are generated from it)."
    )
    ids = [
        op["operationId"] for path in live["paths"].values() for op in path.values() if isinstance(op, dict)
    ]
    assert len(ids) == len(set(ids))


async def test_schema_is_served_publicly(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/auth/login" in response.json()["paths"]
