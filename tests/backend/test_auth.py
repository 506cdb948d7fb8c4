"""Sign-in, sessions, CSRF, lockout, rate limits, API keys and the customer realm."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.auth.models import ApiClient, AuthSession, User
from backend.settings import Settings
from tests.support.auth import login

Client = AsyncTestClient[Any]


async def test_admin_signs_in_and_sees_who_they_are(demo_client: Client) -> None:
    response = await demo_client.post(
        "/api/v1/auth/login", json={"username": "Admin ", "password": "gridvend-demo"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "admin" and body["user"]["roles"] == ["admin"]
    assert body["user"]["org_unit"]["kind"] == "utility"
    cookie_header = ";".join(response.headers.get_list("set-cookie"))
    assert "gridvend_session=" in cookie_header and "HttpOnly" in cookie_header
    me = await demo_client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["full_name"] == "Amina Odhiambo"


async def test_session_cookie_is_stored_only_as_a_hash(demo_client: Client, settings: Settings) -> None:
    await login(demo_client, "admin")
    token = demo_client.cookies.get("gridvend_session")
    assert token
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        hashes = (await session.execute(select(AuthSession.token_hash))).scalars().all()
        user = (await session.execute(select(User).where(User.username == "admin"))).scalar_one()
    await engine.dispose()
    assert token not in hashes and len(hashes) == 1
    assert user.password_hash.startswith("$argon2id$") and "gridvend-demo" not in user.password_hash


async def test_wrong_password_is_401_with_a_clear_message(demo_client: Client) -> None:
    response = await demo_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": "nope-nope-nope"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "Wrong username or password."
    assert (await demo_client.get("/api/v1/auth/me")).status_code == 401


async def test_unsafe_requests_need_the_csrf_token(demo_client: Client) -> None:
    headers = await login(demo_client, "admin")
    refused = await demo_client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = await demo_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert (await demo_client.get("/api/v1/auth/me")).status_code == 200
    ok = await demo_client.post("/api/v1/auth/logout", headers=headers)
    assert ok.status_code == 204
    assert (await demo_client.get("/api/v1/auth/me")).status_code == 401


async def test_account_locks_after_repeated_failures(demo_client: Client) -> None:
    for _ in range(5):
        r = await demo_client.post(
            "/api/v1/auth/login", json={"username": "cashier", "password": "wrong-password"}
        )
        assert r.status_code == 401
    locked = await demo_client.post(
        "/api/v1/auth/login", json={"username": "cashier", "password": "gridvend-demo"}
    )
    assert locked.status_code == 423
    assert "locked" in locked.json()["detail"]
    # an admin unlocks it, then the right password works again
    headers = await login(demo_client, "admin")
    users = (await demo_client.get("/api/v1/users", params={"q": "cashier"})).json()["items"]
    assert users[0]["locked"] is True
    assert (
        await demo_client.post(f"/api/v1/users/{users[0]['id']}/unlock", headers=headers)
    ).status_code == 204
    await demo_client.post("/api/v1/auth/logout", headers=headers)
    assert (
        await demo_client.post(
            "/api/v1/auth/login", json={"username": "cashier", "password": "gridvend-demo"}
        )
    ).status_code == 200


@pytest.mark.parametrize("limit", [3])
async def test_sign_in_attempts_are_rate_limited_per_address(settings: Settings, limit: int) -> None:
    from backend.app import create_app
    from tests.support.demo_cache import seed_demo

    await seed_demo(settings)
    limited = settings.__class__(
        **{**{f: getattr(settings, f) for f in settings.__struct_fields__}, "login_ip_limit": limit}
    )
    async with AsyncTestClient(app=create_app(limited)) as client:
        for _ in range(limit):
            r = await client.post(
                "/api/v1/auth/login", json={"username": "ghost", "password": "whatever-123"}
            )
            assert r.status_code == 401
        throttled = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "gridvend-demo"}
        )
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1


async def test_customer_realm_is_separate_from_staff(demo_client: Client) -> None:
    staff_try = await demo_client.post(
        "/api/v1/auth/login", json={"username": "customer", "password": "gridvend-demo"}
    )
    assert staff_try.status_code == 401
    portal_try = await demo_client.post(
        "/api/v1/portal/auth/login", json={"username": "admin", "password": "gridvend-demo"}
    )
    assert portal_try.status_code == 401
    await login(demo_client, "customer", portal=True)
    assert (await demo_client.get("/api/v1/portal/auth/me")).json()["roles"] == ["customer"]
    assert (await demo_client.get("/api/v1/auth/me")).status_code == 403
    assert (await demo_client.get("/api/v1/org-units")).status_code == 403


async def test_api_client_key_is_shown_once_and_stored_as_hash(
    demo_client: Client, settings: Settings
) -> None:
    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service

    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        _, key = await service.create_api_client(
            session, SYSTEM, name="Bank", role="api_client", org_unit_id=None
        )
        stored = (await session.execute(select(ApiClient).where(ApiClient.name == "Bank"))).scalar_one()
    await engine.dispose()
    assert key.startswith("gv_") and key not in (stored.key_hash, stored.key_prefix)
    ok = await demo_client.get("/api/v1/health", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    # an API client is not staff: staff routes refuse it, and a wrong key is a 401 naming the key
    assert (
        await demo_client.get("/api/v1/org-units", headers={"Authorization": f"Bearer {key}"})
    ).status_code == 403
    bad = await demo_client.get("/api/v1/org-units", headers={"Authorization": f"Bearer {key[:-2]}xx"})
    assert bad.status_code == 401 and "API key" in bad.json()["detail"]


async def test_users_see_only_their_org_unit_and_below(demo_client: Client) -> None:
    await login(demo_client, "cashier")
    units = {u["code"] for u in (await demo_client.get("/api/v1/org-units")).json()["items"]}
    assert units == {"DPL-CEN-01"}
    await demo_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "x"})
    demo_client.cookies.clear()
    await login(demo_client, "supervisor")
    units = {u["code"] for u in (await demo_client.get("/api/v1/org-units")).json()["items"]}
    assert units == {"DPL-CEN", "DPL-CEN-01", "DPL-CEN-02"}


async def test_admin_creates_a_user_and_grants_roles_with_audit(demo_client: Client) -> None:
    headers = await login(demo_client, "admin")
    units = (await demo_client.get("/api/v1/org-units")).json()["items"]
    station = next(u for u in units if u["code"] == "DPL-CEN-02")
    bad = await demo_client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "newbie",
            "full_name": "New Cashier",
            "password": "short",
            "roles": ["cashier"],
            "org_unit_id": station["id"],
        },
    )
    assert bad.status_code == 422 and "at least 10 characters" in bad.json()["detail"]
    created = await demo_client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "newbie",
            "full_name": "New Cashier",
            "password": "a-long-password",
            "roles": ["cashier"],
            "org_unit_id": station["id"],
        },
    )
    assert created.status_code == 201, created.text
    dup = await demo_client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "newbie",
            "full_name": "Again",
            "password": "a-long-password",
            "roles": ["cashier"],
            "org_unit_id": station["id"],
        },
    )
    assert dup.status_code == 409
    uid = created.json()["id"]
    r = await demo_client.put(
        f"/api/v1/users/{uid}/roles", headers=headers, json={"roles": ["cashier", "agent"]}
    )
    assert r.status_code == 200 and r.json()["roles"] == ["agent", "cashier"]
    wrong = await demo_client.put(f"/api/v1/users/{uid}/roles", headers=headers, json={"roles": ["customer"]})
    assert wrong.status_code == 422
    events = (await demo_client.get("/api/v1/audit-events", params={"limit": 10})).json()["items"]
    actions = [e["action"] for e in events]
    assert actions[:3] == ["role.grant", "role.grant", "user.create"]
    assert events[0]["detail"] == {"role": "agent", "username": "newbie"}


async def test_passwords_never_reach_the_logs(
    demo_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    await demo_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": "Secret-Wrong-Pass-1"}
    )
    await login(demo_client, "admin")
    out = capsys.readouterr()
    assert "/api/v1/auth/login" in out.out  # the access log did run
    assert "Secret-Wrong-Pass-1" not in out.out + out.err
    assert "gridvend-demo" not in out.out + out.err
