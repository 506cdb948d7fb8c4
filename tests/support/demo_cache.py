"""Demo data for tests, loaded once per run and copied into each test's database.

Seeding the demo through the services takes many seconds; copying a seeded template takes a moment.
The copy is byte-for-byte what ``backend.demo.seed_demo`` produced, including the master key file
that wraps the demo vending keys. Call it before the test opens connections to its database.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.db.migrate import upgrade
from backend.demo import seed_demo as real_seed_demo
from backend.settings import Settings, load_settings
from tests.support import postgres

_templates: dict[tuple[str, bool], tuple[str, Path]] = {}


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    assert database
    return Path(database)


async def _template(settings: Settings, with_history: bool) -> tuple[str, Path]:
    kind = "sqlite" if settings.is_sqlite else "postgres"
    key = (kind, with_history)
    if key in _templates:
        return _templates[key]
    folder = Path(tempfile.mkdtemp(prefix="gv-demo-tpl-"))
    master = folder / "master.key"
    if settings.is_sqlite:
        url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    else:
        server = settings.database_url.rpartition("/")[0] + "/postgres"
        url = await postgres.create_database(server, "gridvend_demo_tpl")
    template_settings = load_settings(
        environ={},
        database_url=url,
        master_key_file=str(master),
        argon2_time_cost=settings.argon2_time_cost,
        argon2_memory_kib=settings.argon2_memory_kib,
    )
    await asyncio.to_thread(upgrade, template_settings)
    # Tests get the demo users and master data; the demo customers and sales are for `make run`.
    assert await real_seed_demo(
        template_settings, only_if_empty=False, with_history=False, with_customers=False
    )
    _templates[key] = (url, master)
    return url, master


async def drop_templates() -> None:
    """Drop the PostgreSQL templates this run made (at the end of the run: each run makes its own, and
    the server outlives the run)."""
    for (kind, _), (url, _) in list(_templates.items()):
        if kind == "postgres":
            await postgres.drop_database(url.rpartition("/")[0] + "/postgres", url)
    _templates.clear()


def _copy_master_key(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    target.chmod(0o600)  # the key store refuses a world-readable master key


def _copy_sqlite(source: Path, target: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


async def seed_demo(settings: Settings, *, only_if_empty: bool = True, with_history: bool = True) -> bool:
    """Same contract as ``backend.demo.seed_demo``, for a test's fresh database."""
    url, master = await _template(settings, with_history)
    _copy_master_key(master, Path(settings.master_key_file))
    if settings.is_sqlite:
        _copy_sqlite(_sqlite_path(url), _sqlite_path(settings.database_url))
        return True
    target_name = settings.database_url.rpartition("/")[2]
    template_name = url.rpartition("/")[2]
    server = settings.database_url.rpartition("/")[0].replace("postgresql+asyncpg://", "postgresql://")
    admin = server + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{target_name}" TEMPLATE "{template_name}"')
    finally:
        await conn.close()
    return True
