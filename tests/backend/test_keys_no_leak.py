"""Key material never leaves the key store: a full flow with every output captured and grepped.

Logs (in-process capture and a real `gridvend serve` process at debug level), CLI output, API
responses, error messages and audit rows must not contain any vending key, derived decoder key or
the master key, in lower or upper case hex.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.domain.actor import SYSTEM
from backend.domain.assets.models import Meter
from backend.domain.audit.models import AuditEvent
from backend.domain.errors import DomainError
from backend.domain.keys import service
from backend.domain.keys.engine import DecoderKeyCache, SoftwareTokenEngine
from backend.domain.keys.keystore import read_master_file
from backend.settings import Settings
from tests.conftest import make_settings
from tests.support.auth import login
from tests.support.keys import (
    MeterSpec,
    db_session,
    decoder_key,
    import_key,
    keystore,
    make_meter,
    org_unit_id,
    random_material,
)
from tests.support.server import ServerProcess, run_cli

Client = AsyncTestClient[Any]


def forms(secret: bytes) -> list[str]:
    return [secret.hex(), secret.hex().upper()]


def assert_absent(secrets: list[bytes], haystack: str) -> None:
    assert haystack, "nothing was captured: the test would prove nothing"
    for secret in secrets:
        for form in forms(secret):
            assert form not in haystack, "key material leaked"


async def _audit_text(settings: Settings) -> str:
    async with db_session(settings) as session:
        events = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
    return "\n".join(f"{e.action} {e.entity_type} {e.entity_id} {e.detail}" for e in events)


async def test_full_flow_in_process_leaks_nothing(
    demo_client: Client,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = keystore(settings)
    master = read_master_file(settings.master_key_file).reveal()
    secrets: list[bytes] = [master]
    texts: list[str] = []
    async with db_session(settings) as session:
        _, old = await import_key(session, store, sgc=700001, krn=1, base_date=1993)
        _, new = await import_key(session, store, sgc=700001, krn=2, base_date=2014)
        _, wide = await import_key(session, store, sgc=700002, krn=1, dkga="04", base_date=2014)
        secrets += [old, new, wide]
        unit = await org_unit_id(session, "DPL-CEN-01")
        rollover = await make_meter(session, unit, MeterSpec(91001, sgc=700001))
        ea11 = await make_meter(
            session, unit, MeterSpec(91002, sgc=700002, dkga="04", ea="11", base_date=2014)
        )
        engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
        old_data = service.meter_key_data(rollover)
        wide_data = service.meter_key_data(ea11)
        secrets += [decoder_key(old_data, old), decoder_key(wide_data, wide)]
        tokens = [
            await engine.credit(old_data, 100, 16_000_000),
            await engine.credit(wide_data, 100, 5_000_000),
        ]
        texts += [repr(engine), repr(store), repr(tokens), repr(engine._cache)]
        try:
            await engine.credit(replace(old_data, krn=9), 1, 1)
        except DomainError as exc:
            texts += [str(exc), repr(exc)]
        meter_id = rollover.id
        await session.rollback()

    headers = await login(demo_client, "engineer")
    created = await demo_client.post(
        f"/api/v1/meters/{meter_id}/key-changes",
        json={"krn": 2, "base_date": 2014, "reason": "rollover"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    texts += [created.text]
    for path in ("/api/v1/vending-keys", "/api/v1/key-changes", f"/api/v1/meters/{meter_id}/key-changes"):
        response = await demo_client.get(path)
        assert response.status_code == 200
        texts.append(response.text)

    async with db_session(settings) as session:
        async with session.begin():
            engine = SoftwareTokenEngine.for_session(session, store, cache=DecoderKeyCache())
            row = await session.get(Meter, meter_id)
            assert row is not None
            change_tokens = await service.tokens_for_pending_change(session, engine, row)
            assert change_tokens is not None
            secrets.append(decoder_key(replace(old_data, krn=2, base_date=2014), new))
            change = await service.pending_change(session, meter_id)
            assert change is not None
            await service.mark_issued(session, change, SYSTEM)
        texts.append(repr(change_tokens))

    headers = await login(demo_client, "admin")
    key_id = (await demo_client.get("/api/v1/vending-keys", params={"sgc": 700002})).json()["items"][0]["id"]
    retired = await demo_client.post(f"/api/v1/vending-keys/{key_id}/retire", headers=headers)
    texts.append(retired.text)

    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert '"path": "/api/v1/vending-keys"' in logs or '"path":"/api/v1/vending-keys"' in logs
    audit_text = await _audit_text(settings)
    assert "vending_key.import" in audit_text and "key_change.issued" in audit_text
    assert_absent(secrets, "\n".join([logs, audit_text, *texts]))


async def test_real_server_and_cli_leak_nothing(tmp_path: Path) -> None:
    env = {
        "GRIDVEND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'leak.db'}",
        "GRIDVEND_MASTER_KEY_FILE": str(tmp_path / "master.key"),
        "GRIDVEND_ARGON2_TIME_COST": "1",
        "GRIDVEND_ARGON2_MEMORY_KIB": "1024",
        "GRIDVEND_LOG_LEVEL": "debug",
    }
    outputs: list[str] = []
    for args in (("db", "upgrade"), ("keys", "init-master"), ("seed-demo", "--if-empty")):
        result = run_cli(env, *args)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    material = random_material("02")
    target = random_material("02")
    for krn, base, key in (("1", "1993", material), ("2", "2014", target)):
        imported = run_cli(
            env,
            *("keys", "import", "--sgc", "700003", "--krn", krn, "--kt", "2", "--dkga", "02"),
            *("--base-date", base),
            stdin=key.hex().upper() + "\n",
        )
        assert imported.returncode == 0, imported.stderr
        outputs += [imported.stdout, imported.stderr]
    listed = run_cli(env, "keys", "list")
    outputs += [listed.stdout, listed.stderr]

    settings = make_settings(env["GRIDVEND_DATABASE_URL"], tmp_path)
    async with db_session(settings) as session:
        meter = await make_meter(
            session, await org_unit_id(session, "DPL-CEN-01"), MeterSpec(92001, sgc=700003)
        )
    data = service.meter_key_data(meter)
    secrets = [
        material,
        target,
        decoder_key(data, material),
        read_master_file(tmp_path / "master.key").reveal(),
    ]

    server = ServerProcess(env, tmp_path / "server.log")
    try:
        server.wait_ready()
        async with httpx.AsyncClient(base_url=server.url) as http:
            login_response = await http.post(
                "/api/v1/auth/login", json={"username": "engineer", "password": "gridvend-demo"}
            )
            headers = {"X-CSRF-Token": login_response.json()["csrf_token"]}
            responses = [
                await http.get("/api/v1/vending-keys"),
                await http.post(
                    f"/api/v1/meters/{meter.id}/key-changes",
                    json={"krn": 2, "base_date": 2014, "reason": "rollover"},
                    headers=headers,
                ),
                await http.post(
                    f"/api/v1/meters/{meter.id}/key-changes",
                    json={"krn": 2, "base_date": 2014, "reason": "x"},
                    headers=headers,
                ),
                await http.get("/api/v1/key-changes", params={"status": "pending"}),
                await http.get(f"/api/v1/meters/{meter.id}/key-changes"),
            ]
            assert [r.status_code for r in responses] == [200, 201, 409, 200, 200]
            outputs += [r.text for r in responses]
    finally:
        server.stop()
    log_text = (tmp_path / "server.log").read_text()
    assert "/api/v1/key-changes" in log_text  # the access log was written
    assert_absent(secrets, "\n".join([log_text, *outputs, await _audit_text(settings)]))
