"""Health, problem responses for every kind of error, request ids and the web app fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from tests.conftest import make_settings


async def test_health_reports_database_and_migration(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["database"] == "ok" and body["migration"] == body["migration_head"]


async def test_health_is_503_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503 and response.json()["migration"] is None


async def test_unknown_path_is_a_problem_document(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404 and "/api/v1/no-such-thing" in body["detail"] and body["request_id"]


async def test_wrong_method_is_a_problem_document(client: AsyncTestClient[Any]) -> None:
    response = await client.delete("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["detail"] == "DELETE is not allowed on /api/v1/health."


async def test_malformed_json_is_a_400_in_plain_words(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_missing_field_names_the_field(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/v1/auth/login", json={"username": "admin"})
    assert response.status_code == 400
    assert "password" in response.json()["detail"]


async def test_request_id_is_echoed_or_made(client: AsyncTestClient[Any]) -> None:
    given = await client.get("/api/v1/health", headers={"X-Request-ID": "till-42-abcdef"})
    assert given.headers["x-request-id"] == "till-42-abcdef"
    made = await client.get("/api/v1/health", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces" and len(made.headers["x-request-id"]) == 32


async def test_spa_deep_links_fall_back_to_the_app(settings: Settings, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "staff").mkdir(parents=True)
    (dist / "portal").mkdir()
    (dist / "assets").mkdir()
    (dist / "staff" / "index.html").write_text("<html>staff app</html>")
    (dist / "portal" / "index.html").write_text("<html>portal app</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    patched = make_settings(settings.database_url, tmp_path, frontend_dist=str(dist))
    async with AsyncTestClient(app=create_app(patched)) as client:
        deep = await client.get("/staff/customers/42")
        assert deep.status_code == 200 and "staff app" in deep.text
        assert "portal app" in (await client.get("/portal/")).text
        assert (await client.get("/assets/app.js")).text == "console.log(1)"
        root = await client.get("/", follow_redirects=False)
        assert root.status_code in (301, 302, 307, 308) and root.headers["location"] == "/staff/"


async def test_unbuilt_frontend_says_how_to_build_it(settings: Settings, tmp_path: Path) -> None:
    patched = make_settings(settings.database_url, tmp_path, frontend_dist=str(tmp_path / "nothing"))
    async with AsyncTestClient(app=create_app(patched)) as client:
        response = await client.get("/staff/")
    assert response.status_code == 503 and "make run" in response.json()["detail"]


async def test_the_served_app_freezes_its_start_up_heap(settings: Settings) -> None:
    # `gridvend serve` builds the app with freeze_heap=True: after start-up the long-lived objects are
    # out of the cyclic collector's reach, so a full collection no longer stalls every request.
    import gc

    gc.unfreeze()
    try:
        async with AsyncTestClient(app=create_app(settings, freeze_heap=True)) as client:
            assert gc.get_freeze_count() > 10_000
            assert (await client.get("/api/v1/health")).status_code == 200
        gc.unfreeze()
        async with AsyncTestClient(app=create_app(settings)):
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
