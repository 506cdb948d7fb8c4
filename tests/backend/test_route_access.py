"""Every route declares who may call it, and the app enforces it for every role.

The test walks the routes of the real app: a route without a declaration fails the test, and every
role outside a route's declaration must get 403 (or 401 when not signed in at all).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.domain.actor import SYSTEM
from backend.domain.auth import service
from backend.domain.auth.rules import ALL_ROLES
from backend.settings import Settings
from tests.support.auth import DEMO_USER_FOR_ROLE, login


def _routes(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                out.append((method, route.path, handler))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", path)


def test_every_route_declares_its_audience(settings: Settings) -> None:
    app = create_app(settings)
    undeclared = []
    for method, path, handler in _routes(app):
        opt = handler.opt
        declared = opt.get("public") or opt.get("signed_in") or opt.get("roles")
        if not declared:
            undeclared.append(f"{method} {path}")
        roles = opt.get("roles") or frozenset()
        assert roles <= ALL_ROLES, f"{method} {path} names unknown roles {roles - ALL_ROLES}"
    assert undeclared == [], f"routes without an access rule: {undeclared}"
    assert len(_routes(app)) >= 10


async def _sign_in_as(client: AsyncTestClient[Any], role: str, settings: Settings) -> dict[str, str]:
    client.cookies.clear()
    if role == "api_client":
        from backend.db.engine import create_engine, create_sessionmaker

        engine = create_engine(settings)
        async with create_sessionmaker(engine)() as session:
            _, key = await service.create_api_client(
                session, SYSTEM, name=f"walker-{id(client)}", role=role, org_unit_id=None
            )
        await engine.dispose()
        return {"Authorization": f"Bearer {key}"}
    return await login(client, DEMO_USER_FOR_ROLE[role], portal=role == "customer")


@pytest.mark.parametrize("role", [*sorted(ALL_ROLES), "anonymous"])
async def test_wrong_roles_are_refused_on_every_route(
    demo_client: AsyncTestClient[Any], settings: Settings, role: str
) -> None:
    app = demo_client.app
    headers = {} if role == "anonymous" else await _sign_in_as(demo_client, role, settings)
    checked = 0
    for method, path, handler in _routes(app):
        opt = handler.opt
        if path.startswith(("/schema", "/assets")) or opt.get("public"):
            continue
        if "logout" in path:
            continue  # would end the session the walk is using; covered in test_auth
        allowed = bool(opt.get("signed_in")) or role in (opt.get("roles") or ())
        if role == "anonymous":
            allowed = False
        response = await demo_client.request(method, _concrete(path), headers=headers, json={})
        checked += 1
        if allowed:
            assert response.status_code not in (401, 403), (
                f"{role} refused on {method} {path}: {response.text}"
            )
        elif role == "anonymous":
            assert response.status_code == 401, f"anonymous got {response.status_code} on {method} {path}"
        else:
            assert response.status_code == 403, f"{role} got {response.status_code} on {method} {path}"
    assert checked >= 8
