"""Helpers to sign in through the real API in tests."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from backend.demo import DEMO_PASSWORD

DEMO_USER_FOR_ROLE = {
    "admin": "admin",
    "supervisor": "supervisor",
    "cashier": "cashier",
    "billing_clerk": "clerk",
    "engineer": "engineer",
    "auditor": "auditor",
    "agent": "agent",
    "customer": "customer",
}


async def login(
    client: AsyncTestClient[Any], username: str, password: str = DEMO_PASSWORD, portal: bool = False
) -> dict[str, str]:
    """Sign in; return the headers (CSRF) that later unsafe requests need. Cookies stay on the client."""
    path = "/api/v1/portal/auth/login" if portal else "/api/v1/auth/login"
    response = await client.post(path, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}
