"""Find or start the PostgreSQL server for the PostgreSQL half of the suite. It never skips.

Order: ``GRIDVEND_TEST_POSTGRES_URL``; else the server at 127.0.0.1:5432 (database ``test``); else a
throwaway server started here (initdb in a temporary folder, its own port), installing PostgreSQL
from Debian's packages first when it is missing and we run as root.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def _answers(url: str) -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(url)), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class ThrowawayServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gridvend-pg-"))
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres: list[str] = []

    def start(self) -> None:
        initdb = _pg_bin("initdb")
        if initdb is None and os.geteuid() == 0:
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "postgresql"],
                check=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            initdb = _pg_bin("initdb")
        if initdb is None:
            raise RuntimeError("PostgreSQL is not installed and cannot be installed here (not root)")
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        subprocess.run(
            [*self._as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [
                *self._as_postgres,
                pg_ctl,
                "-D",
                str(data),
                "-l",
                str(self.dir / "log"),
                "-w",
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        if pg_ctl:
            subprocess.run(
                [*self._as_postgres, pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server() -> tuple[str, ThrowawayServer | None]:
    """Return (a URL of a database we may create databases from, the throwaway server or None)."""
    configured = os.environ.get("GRIDVEND_TEST_POSTGRES_URL")
    if configured:
        if not asyncio.run(_answers(configured)):
            raise RuntimeError(f"GRIDVEND_TEST_POSTGRES_URL is set but does not answer: {configured}")
        return configured, None
    if asyncio.run(_answers(DEFAULT_URL)):
        return DEFAULT_URL, None
    server = ThrowawayServer()
    server.start()
    deadline = time.monotonic() + 30
    while not asyncio.run(_answers(server.url)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the throwaway PostgreSQL server did not answer; see {server.dir}/log")
        time.sleep(0.3)
    return server.url, server


async def create_database(server_url: str, prefix: str = "gridvend_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server_url, name)


async def drop_database(server_url: str, database_url: str) -> None:
    name = database_url.rpartition("/")[2]
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def truncate_all(database_url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{r["tablename"]}"' for r in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
