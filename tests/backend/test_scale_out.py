"""Two app processes on one PostgreSQL behave as one: shared sessions and shared rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import postgres
from tests.support.server import ServerProcess, run_cli

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_servers(postgres_server: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    url = asyncio.run(postgres.create_database(postgres_server, "gridvend_scale"))
    env = {
        "GRIDVEND_DATABASE_URL": url,
        "GRIDVEND_MASTER_KEY_FILE": str(tmp_path / "master.key"),
        "GRIDVEND_ARGON2_TIME_COST": "1",
        "GRIDVEND_ARGON2_MEMORY_KIB": "1024",
        "GRIDVEND_LOGIN_IP_LIMIT": "6",
    }
    servers: list[ServerProcess] = []
    try:
        assert run_cli(env, "db", "upgrade").returncode == 0
        assert run_cli(env, "seed-demo").returncode == 0
        servers = [ServerProcess(env, tmp_path / "a.log"), ServerProcess(env, tmp_path / "b.log")]
        for server in servers:
            server.wait_ready()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        asyncio.run(postgres.drop_database(postgres_server, url))


def test_a_login_on_one_process_is_valid_on_the_other(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    with httpx.Client(base_url=a.url) as on_a:
        login = on_a.post("/api/v1/auth/login", json={"username": "admin", "password": "gridvend-demo"})
        assert login.status_code == 200
        cookies = dict(on_a.cookies)
        csrf = login.json()["csrf_token"]
    with httpx.Client(base_url=b.url, cookies=cookies) as on_b:
        assert on_b.get("/api/v1/auth/me").json()["username"] == "admin"
        assert on_b.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    with httpx.Client(base_url=a.url, cookies=cookies) as again_on_a:
        assert again_on_a.get("/api/v1/auth/me").status_code == 401  # logged out on B, gone on A too


def test_the_login_rate_limit_counts_across_processes(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    bad = {"username": "nobody", "password": "wrong-password"}
    for i in range(6):
        server = a if i % 2 == 0 else b
        assert httpx.post(f"{server.url}/api/v1/auth/login", json=bad).status_code == 401
    # seven attempts from this address in the window: both processes refuse, even the right password
    good = {"username": "admin", "password": "gridvend-demo"}
    assert httpx.post(f"{a.url}/api/v1/auth/login", json=good).status_code == 429
    assert httpx.post(f"{b.url}/api/v1/auth/login", json=good).status_code == 429
