"""Assets over HTTP: roles, 4xx messages, the lifecycle, the CSV import and the CLI import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backend.demo.assets import CREWS, WAREHOUSE
from backend.settings import Settings
from tests.support.assets import bad_check_digit, csv_file, db_session, drn, supply_point
from tests.support.auth import login
from tests.support.server import run_cli

Client = AsyncTestClient[Any]
STS = {"sgc": 600999, "ti": 1, "krn": 1, "kt": 2, "ea": "07", "dkga": "04", "base_date": 2014}


async def _location_id(client: Client, code: str) -> int:
    items = (await client.get("/api/v1/stock-locations", params={"q": code})).json()["items"]
    return int(next(i["id"] for i in items if i["code"] == code))


async def _register(client: Client, headers: dict[str, str], number: str, **extra: Any) -> Any:
    body = {
        "meter_no": number,
        "kind": "sts_keypad",
        "manufacturer": "Hexing",
        "model": "HXE110",
        "location_id": await _location_id(client, WAREHOUSE),
        **STS,
        **extra,
    }
    return await client.post("/api/v1/meters", json=body, headers=headers)


async def test_demo_meters_are_listed_with_filters(demo_client: Client) -> None:
    await login(demo_client, "auditor")
    everything = (await demo_client.get("/api/v1/meters", params={"limit": 10})).json()
    assert everything["total"] == 60 and len(everything["items"]) == 10
    postpaid = (await demo_client.get("/api/v1/meters", params={"kind": "postpaid"})).json()
    assert postpaid["total"] == 10 and all(m["sts"] is None for m in postpaid["items"])
    first = (await demo_client.get("/api/v1/meters", params={"q": "04100", "limit": 200})).json()
    assert first["total"] == 20
    meter = next(m for m in first["items"] if m["status"] == "in_stock")
    assert (
        meter["sts"]["sgc"] == 123456 and meter["sts"]["base_date"] == 1993 and meter["sts"]["dkga"] == "02"
    )
    assert meter["pan"].startswith("600727" + meter["meter_no"]) and len(meter["pan"]) == 18
    assert any("base date 2014" in w for w in meter["warnings"])
    assert meter["location"]["code"] == WAREHOUSE and meter["status"] == "in_stock"
    assert "key" not in " ".join(k for k in meter["sts"] if k != "ken")  # key data, never keys
    ea11 = [
        m
        for m in (await demo_client.get("/api/v1/meters", params={"limit": 200})).json()["items"]
        if m["sts"] and m["sts"]["ea"] == "11"
    ]
    assert len(ea11) == 5 and all(m["sts"]["dkga"] == "04" for m in ea11)
    stock = (await demo_client.get("/api/v1/stock-locations")).json()
    assert {i["code"] for i in stock["items"]} >= {WAREHOUSE, *CREWS}
    assert next(i for i in stock["items"] if i["code"] == WAREHOUSE)["meters"] == 60


@pytest.mark.parametrize("role", ["cashier", "billing_clerk", "agent"])
async def test_roles_without_meter_access_are_refused(demo_client: Client, role: str) -> None:
    user = {"billing_clerk": "clerk"}.get(role, role)
    headers = await login(demo_client, user)
    assert (await demo_client.get("/api/v1/meters")).status_code == 403
    assert (await _register_raw(demo_client, headers)).status_code == 403


async def _register_raw(client: Client, headers: dict[str, str]) -> Any:
    return await client.post(
        "/api/v1/meters",
        json={"meter_no": drn(1), "kind": "postpaid", "manufacturer": "X", "model": "Y", "location_id": 1},
        headers=headers,
    )


async def test_engineer_registers_meter_and_gets_clear_messages(demo_client: Client) -> None:
    headers = await login(demo_client, "engineer")
    number = drn(55_555_555)
    bad = await _register(demo_client, headers, bad_check_digit(number))
    assert bad.status_code == 422
    assert bad.json()["detail"] == (
        f"Meter number {bad_check_digit(number)} has a wrong check digit: expected {number[-1]}. "
        "Check the number on the meter."
    )
    short = await _register(demo_client, headers, "12345")
    assert short.status_code == 422 and "has 5 digits" in short.json()["detail"]
    ea11 = await _register(demo_client, headers, number, ea="11", dkga="02")
    assert ea11.status_code == 422 and "EA11 (MISTY1) meters use DKGA04" in ea11.json()["detail"]
    missing = await _register(demo_client, headers, number, sgc=None)
    assert missing.status_code == 422 and "missing: SGC" in missing.json()["detail"]
    out_of_range = await _register(demo_client, headers, number, krn=12)
    assert out_of_range.status_code == 400 and "krn" in out_of_range.json()["detail"]
    good = await _register(demo_client, headers, number)
    assert good.status_code == 201, good.text
    meter = good.json()
    assert meter["meter_no"] == number and meter["sts"]["ken"] == 255 and meter["warnings"] == []
    again = await _register(demo_client, headers, number)
    assert (
        again.status_code == 409 and again.json()["detail"] == f"Meter number {number} is already registered."
    )
    fetched = await demo_client.get(f"/api/v1/meters/{meter['id']}")
    assert fetched.status_code == 200 and fetched.json()["pan"] == meter["pan"]
    assert (await demo_client.get("/api/v1/meters/999999")).status_code == 404


async def test_update_refuses_key_data_and_changes_the_rest(demo_client: Client) -> None:
    headers = await login(demo_client, "engineer")
    meter = (await _register(demo_client, headers, drn(777))).json()
    refused = await demo_client.patch(
        f"/api/v1/meters/{meter['id']}", json={"sgc": 123456, "base_date": 1993}, headers=headers
    )
    assert refused.status_code == 422
    assert "BASE_DATE, SGC cannot be changed by editing the meter" in refused.json()["detail"]
    assert "meter key change" in refused.json()["detail"]
    changed = await demo_client.patch(
        f"/api/v1/meters/{meter['id']}", json={"model": "HXE120", "phases": 3}, headers=headers
    )
    assert (
        changed.status_code == 200 and changed.json()["model"] == "HXE120" and changed.json()["phases"] == 3
    )
    assert changed.json()["sts"]["sgc"] == 600999


async def test_supervisor_moves_but_does_not_register(demo_client: Client, settings: Settings) -> None:
    async with db_session(settings) as session:
        point = await supply_point(session, "SP-API-1", "DPL-CEN-01")
    headers = await login(demo_client, "supervisor")
    assert (await _register(demo_client, headers, drn(888))).status_code == 403
    meter = (
        await demo_client.get(
            "/api/v1/meters", params={"kind": "sts_keypad", "status": "in_stock", "limit": 1}
        )
    ).json()["items"][0]
    crew = await _location_id(demo_client, CREWS[0])
    path = f"/api/v1/meters/{meter['id']}/movements"
    wrong = await demo_client.post(
        path, json={"to_status": "installed", "supply_point_id": point}, headers=headers
    )
    assert wrong.status_code == 422 and "cannot become installed" in wrong.json()["detail"]
    issued = await demo_client.post(path, json={"to_status": "issued", "location_id": crew}, headers=headers)
    assert issued.status_code == 201 and issued.json()["location"]["code"] == CREWS[0]
    installed = await demo_client.post(
        path,
        json={"to_status": "installed", "supply_point_code": "SP-API-1", "note": "job 17"},
        headers=headers,
    )
    assert installed.status_code == 201 and installed.json()["supply_point"]["code"] == "SP-API-1"
    other = (
        await demo_client.get(
            "/api/v1/meters", params={"kind": "sts_keypad", "status": "in_stock", "limit": 2}
        )
    ).json()["items"][1]
    await demo_client.post(
        f"/api/v1/meters/{other['id']}/movements",
        json={"to_status": "issued", "location_id": crew},
        headers=headers,
    )
    clash = await demo_client.post(
        f"/api/v1/meters/{other['id']}/movements",
        json={"to_status": "installed", "supply_point_id": point},
        headers=headers,
    )
    assert clash.status_code == 409
    assert (
        clash.json()["detail"]
        == f"Supply point SP-API-1 already has meter {meter['meter_no']} installed; remove it first."
    )
    history = (await demo_client.get(path)).json()
    assert history["total"] == 3
    assert [h["to_status"] for h in history["items"]] == ["installed", "issued", "in_stock"]
    assert history["items"][0]["actor_name"] == "supervisor" and history["items"][0]["note"] == "job 17"
    assert history["items"][2]["from_status"] is None and history["items"][2]["note"].startswith("received")
    await login(demo_client, "auditor")
    refused = await demo_client.post(
        path, json={"to_status": "removed", "location_id": crew}, headers=headers
    )
    assert refused.status_code == 403


async def test_stock_locations(demo_client: Client) -> None:
    headers = await login(demo_client, "engineer")
    units = (await demo_client.get("/api/v1/org-units")).json()["items"]
    station = next(u["id"] for u in units if u["code"] == "DPL-CEN-02")
    created = await demo_client.post(
        "/api/v1/stock-locations",
        json={"code": "crew-mkt", "name": "Market crew", "kind": "crew", "org_unit_id": station},
        headers=headers,
    )
    assert created.status_code == 201 and created.json()["code"] == "CREW-MKT"
    duplicate = await demo_client.post(
        "/api/v1/stock-locations",
        json={"code": "CREW-MKT", "name": "Again", "kind": "crew", "org_unit_id": station},
        headers=headers,
    )
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    closed = await demo_client.patch(
        f"/api/v1/stock-locations/{created.json()['id']}", json={"active": False}, headers=headers
    )
    assert closed.status_code == 200 and closed.json()["active"] is False
    warehouse = await _location_id(demo_client, WAREHOUSE)
    busy = await demo_client.patch(
        f"/api/v1/stock-locations/{warehouse}", json={"active": False}, headers=headers
    )
    assert busy.status_code == 409 and "still holds 60 meter(s)" in busy.json()["detail"]
    crews = (await demo_client.get("/api/v1/stock-locations", params={"kind": "crew", "active": True})).json()
    assert {i["code"] for i in crews["items"]} == set(CREWS)


async def test_csv_import_over_http(demo_client: Client) -> None:
    headers = {**await login(demo_client, "engineer"), "Content-Type": "text/csv"}
    numbers = [drn(40_000_000 + i, "07") for i in range(200)]
    ok = await demo_client.post(
        "/api/v1/meters/imports",
        content=csv_file(numbers).encode(),
        params={"location": WAREHOUSE, "filename": "delivery-17.csv"},
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json() == {
        "imported": 200,
        "location": {"id": ok.json()["location"]["id"], "code": WAREHOUSE, "name": "Central Warehouse"},
    }
    bad_numbers = [drn(50_000_000 + i, "07") for i in range(5)]
    bad_numbers[1] = numbers[0]
    bad_numbers[3] = bad_check_digit(bad_numbers[3])
    bad = await demo_client.post(
        "/api/v1/meters/imports",
        content=csv_file(bad_numbers).encode(),
        params={"location": WAREHOUSE},
        headers=headers,
    )
    assert bad.status_code == 422
    body = bad.json()
    assert body["errors"] == [
        {"line": 3, "column": "meter_no", "message": f"Meter number {numbers[0]} is already registered."},
        {
            "line": 5,
            "column": "meter_no",
            "message": f"Meter number {bad_numbers[3]} has a wrong check digit: expected "
            f"{drn(50_000_003, '07')[-1]}. Check the number on the meter.",
        },
    ]
    assert (await demo_client.get("/api/v1/meters", params={"limit": 1})).json()["total"] == 260
    latin = await demo_client.post(
        "/api/v1/meters/imports",
        content="meter_no\n\xe9".encode("latin-1"),
        params={"location": WAREHOUSE},
        headers=headers,
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
    unknown = await demo_client.post(
        "/api/v1/meters/imports",
        content=csv_file([drn(1)]).encode(),
        params={"location": "NOPE"},
        headers=headers,
    )
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["detail"]
    await login(demo_client, "supervisor")
    assert (
        await demo_client.post(
            "/api/v1/meters/imports",
            content=csv_file([drn(1)]).encode(),
            params={"location": WAREHOUSE},
            headers=headers,
        )
    ).status_code == 403


def test_cli_import(tmp_path: Path) -> None:
    env = {
        "GRIDVEND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "GRIDVEND_ARGON2_TIME_COST": "1",
        "GRIDVEND_ARGON2_MEMORY_KIB": "1024",
        "GRIDVEND_MASTER_KEY_FILE": str(tmp_path / "master.key"),
    }
    assert run_cli(env, "db", "upgrade").returncode == 0
    seeded = run_cli(env, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    good = tmp_path / "good.csv"
    good.write_text(csv_file([drn(60_000_000 + i) for i in range(20)]))
    done = run_cli(env, "meters", "import", str(good), "--location", WAREHOUSE.lower())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported 20 meters into stock at {WAREHOUSE}"
    again = run_cli(env, "meters", "import", str(good), "--location", WAREHOUSE)
    assert again.returncode == 1
    assert f"line 2 [meter_no]: Meter number {drn(60_000_000)} is already registered." in again.stderr
    assert "Nothing was imported: the file has 20 problem(s)" in again.stderr
    missing = run_cli(env, "meters", "import", str(tmp_path / "nope.csv"), "--location", WAREHOUSE)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
