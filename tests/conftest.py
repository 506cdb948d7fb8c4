"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.settings import Settings, load_settings
from tests.support import postgres

FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}


def make_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "master_key_file": str(tmp / "master.key"),
        "log_json": True,
        **FAST_HASHING,
    }
    values.update(overrides)
    return load_settings(environ={}, **values)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The demo data's PostgreSQL template (``tests.support.demo_cache``) is the run's own: dropped."""
    from tests.support.demo_cache import drop_templates

    asyncio.run(drop_templates())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url, server = postgres.find_server()
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run; tables are truncated before each test."""
    url = asyncio.run(postgres.create_database(postgres_server))
    upgrade(make_settings(url, tmp_path_factory.mktemp("pg")))
    try:
        yield url
    finally:
        asyncio.run(postgres.drop_database(postgres_server, url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    upgrade(make_settings(f"sqlite+aiosqlite:///{path}", folder))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gridvend.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_template")
    asyncio.run(postgres.truncate_all(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's database (its own engine, disposed after the test)."""
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as s:
        yield s
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def demo_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client over a database holding the demo organisation and one user for every role."""
    from tests.support.demo_cache import seed_demo

    assert await seed_demo(settings, only_if_empty=True, with_history=False)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client
