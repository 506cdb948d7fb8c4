"""Bearer-key callers: the short-lived client memory, the batched per-minute counter, revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli import main as cli_main
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain import ratelimit
from backend.domain.actor import SYSTEM
from backend.domain.audit.models import AuditEvent
from backend.domain.auth import service as auth
from backend.domain.auth.client_cache import ApiClientCache
from backend.domain.auth.models import RateCounter
from backend.domain.errors import Conflict, NotFound
from backend.settings import Settings

Maker = async_sessionmaker[AsyncSession]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[Maker]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _stored(maker: Maker, key: str) -> int:
    async with maker() as session, session.begin():
        row = (await session.execute(select(RateCounter).where(RateCounter.key == key))).scalar_one_or_none()
        return 0 if row is None else row.count


async def test_the_counter_writes_once_a_second_and_on_every_call_near_the_limit(maker: Maker) -> None:
    clock = Clock()
    counter = ratelimit.BatchedCounter(clock=clock)
    now = datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC)
    counts = [(await counter.hit(maker, "k", now, 60, 100))[0] for _ in range(50)]
    assert counts == list(range(1, 51))  # exact in this process
    assert await _stored(maker, "k") == 1  # only the first call wrote; 49 wait for the next second
    clock.now += 1.0
    assert (await counter.hit(maker, "k", now, 60, 100))[0] == 51
    assert await _stored(maker, "k") == 51
    for _ in range(29):  # 52 .. 80: 80 is near the limit (80 %), so it is written at once
        await counter.hit(maker, "k", now, 60, 100)
    assert await _stored(maker, "k") == 80
    count, retry_after = await counter.hit(maker, "k", now, 60, 100)
    assert count == 81 and await _stored(maker, "k") == 81 and retry_after == 56


async def test_two_processes_count_every_call_and_catch_up_within_a_second(maker: Maker) -> None:
    """Across processes no call is lost, no process counts more than really happened, and a process
    sees the others' calls at its next write (at most a second later, or at once near the limit)."""
    clock = Clock()
    one, two = ratelimit.BatchedCounter(clock=clock), ratelimit.BatchedCounter(clock=clock)
    now = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    true_count = 0
    for second in range(3):
        for i in range(8):
            true_count += 1
            seen, _ = await (one if i % 2 else two).hit(maker, "bank", now, 60, 10)
            assert seen <= true_count
        clock.now += 1.0
        assert second < 2 or seen == true_count  # near the limit every call writes and reads back
    await one.hit(maker, "bank", now, 60, 10)
    last, _ = await two.hit(maker, "bank", now, 60, 10)
    assert last == true_count + 2 == await _stored(maker, "bank")
    # A new minute starts from one again.
    later = datetime(2026, 11, 30, 10, 1, 0, tzinfo=UTC)
    assert (await one.hit(maker, "bank", later, 60, 10))[0] == 1


async def test_a_revoked_key_is_refused_once_its_memory_expires(maker: Maker) -> None:
    async with maker() as session:
        client, key = await auth.create_api_client(
            session, SYSTEM, name="Leaky Bank", role="api_client", org_unit_id=None, rate_limit_per_minute=50
        )
    clock = Clock()
    cache = ApiClientCache(ttl_seconds=5.0, clock=clock)
    counter = ratelimit.BatchedCounter(clock=clock)

    async def resolve() -> auth.ResolvedClient | None:
        return await auth.resolve_api_key(
            maker, key, ip="10.0.0.1", request_id=None, clients=cache, counter=counter
        )

    first = await resolve()
    assert first is not None and first.actor.name == "Leaky Bank" and first.retry_after_seconds is None
    assert (
        await auth.resolve_api_key(
            maker,
            key[:-1] + ("A" if key[-1] != "A" else "B"),
            ip=None,
            request_id=None,
            clients=cache,
            counter=counter,
        )
        is None
    )  # same prefix, wrong secret

    async with maker() as session:
        revoked = await auth.revoke_api_client(session, SYSTEM, "Leaky Bank")
    assert revoked.active is False
    async with maker() as session:
        with pytest.raises(Conflict, match="already revoked"):
            await auth.revoke_api_client(session, SYSTEM, "Leaky Bank")
    async with maker() as session:
        with pytest.raises(NotFound, match="No API client is named 'Nobody'"):
            await auth.revoke_api_client(session, SYSTEM, "Nobody")

    assert await resolve() is not None  # another process's memory: still valid for up to 5 s
    clock.now += 5.0
    assert await resolve() is None
    async with maker() as session, session.begin():
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.entity_id == str(client.id))
                    .order_by(AuditEvent.seq)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["api_client.create", "api_client.revoke"]


async def test_revoke_and_list_from_the_command_line(
    maker: Maker, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDVEND_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GRIDVEND_MASTER_KEY_FILE", settings.master_key_file)
    async with maker() as session:
        await auth.create_api_client(session, SYSTEM, name="ATM Network", role="api_client", org_unit_id=None)
    assert await _run_cli(["api-clients", "revoke", "--name", "ATM Network"]) == 0
    assert "revoked API client 'ATM Network'" in capsys.readouterr().out
    assert await _run_cli(["api-clients", "revoke", "--name", "ATM Network"]) == 2
    assert "already revoked" in capsys.readouterr().err
    assert await _run_cli(["api-clients", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ATM Network" in listing and "revoked" in listing


async def _run_cli(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(cli_main, argv)
