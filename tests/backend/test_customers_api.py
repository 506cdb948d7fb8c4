"""Network, customer and account endpoints: happy paths, 4xx messages and role refusals."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from backend.settings import Settings
from tests.support.auth import login
from tests.support.customers import add_tariff, sessions

Client = AsyncTestClient[Any]


async def test_network_endpoints_and_roles(demo_client: Client) -> None:
    headers = await login(demo_client, "engineer")
    tree = (await demo_client.get("/api/v1/network/tree")).json()["items"]
    assert [n["code"] for n in tree] == ["SS-KRB", "SS-NBW"]
    transformers = (await demo_client.get("/api/v1/network/nodes", params={"kind": "transformer"})).json()
    assert transformers["total"] == 6
    tx = transformers["items"][0]
    created = await demo_client.post(
        "/api/v1/network/supply-points",
        json={
            "code": "sp-new",
            "transformer_id": tx["id"],
            "address": "Plot 9, Ngong Rd",
            "latitude": "-1.3",
            "longitude": "36.78",
            "phases": 3,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    point = created.json()
    assert point["code"] == "SP-NEW" and point["latitude"] == "-1.3"
    bad = await demo_client.post(
        "/api/v1/network/supply-points",
        json={
            "code": "SP-BAD",
            "transformer_id": tx["id"],
            "address": "X",
            "latitude": "95",
            "longitude": "36",
        },
        headers=headers,
    )
    assert (
        bad.status_code == 422
        and bad.json()["detail"] == "Latitude must be between -90 and 90 degrees, got 95."
    )
    dup = await demo_client.post(
        "/api/v1/network/supply-points",
        json={"code": "SP-NEW", "transformer_id": tx["id"], "address": "Y"},
        headers=headers,
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    patched = await demo_client.patch(
        f"/api/v1/network/supply-points/{point['id']}", json={"town": "Kilimani"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json()["town"] == "Kilimani"
    found = (await demo_client.get("/api/v1/network/supply-points", params={"q": "kilimani"})).json()
    assert [p["code"] for p in found["items"]] == ["SP-NEW"]
    gone = await demo_client.post(
        f"/api/v1/network/supply-points/{point['id']}/deactivate", json={}, headers=headers
    )
    assert gone.status_code == 200 and gone.json()["active"] is False
    # a cashier may read the network but not change it
    demo_client.cookies.clear()
    cashier = await login(demo_client, "cashier")
    assert (await demo_client.get("/api/v1/network/supply-points")).status_code == 200
    refused = await demo_client.post(
        "/api/v1/network/nodes",
        json={"kind": "substation", "code": "SS-Z", "name": "Z", "org_unit_id": 1},
        headers=cashier,
    )
    assert refused.status_code == 403


async def test_the_utility_profile_for_receipts(demo_client: Client) -> None:
    assert (await demo_client.get("/api/v1/org-units/utility")).status_code == 401
    await login(demo_client, "cashier")
    utility = (await demo_client.get("/api/v1/org-units/utility")).json()
    units = {u["code"]: u for u in (await demo_client.get("/api/v1/org-units")).json()["items"]}
    assert utility["timezone"] == "Africa/Nairobi" and utility["currency"] == "KES"
    assert utility["code"] not in units  # a cashier sees the station, the utility is above it
    await login(demo_client, "admin")
    root = next(
        u for u in (await demo_client.get("/api/v1/org-units")).json()["items"] if u["kind"] == "utility"
    )
    assert (utility["name"], utility["code"]) == (root["name"], root["code"])


async def test_org_unit_update(demo_client: Client) -> None:
    headers = await login(demo_client, "admin")
    units = (await demo_client.get("/api/v1/org-units")).json()["items"]
    station = next(u for u in units if u["code"] == "DPL-CEN-02")
    renamed = await demo_client.patch(
        f"/api/v1/org-units/{station['id']}",
        json={"name": "Market St Office", "address": None},
        headers=headers,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Market St Office"
    assert renamed.json()["address"] is None
    region = next(u for u in units if u["code"] == "DPL-CEN")
    busy = await demo_client.patch(
        f"/api/v1/org-units/{region['id']}", json={"active": False}, headers=headers
    )
    assert busy.status_code == 409 and "still has active units below it" in busy.json()["detail"]
    audit = (await demo_client.get("/api/v1/audit-events", params={"action": "org_unit.update"})).json()
    assert audit["items"] and audit["items"][0]["detail"]["before"]["name"] == "Market Street Vending Point"


async def test_customer_account_flow_over_http(demo_client: Client, settings: Settings) -> None:
    async with sessions(settings) as maker, maker() as session:
        tariff = await add_tariff(session, "DOM1", "prepaid")
        postpaid_tariff = await add_tariff(session, "COM1", "postpaid")
    headers = await login(demo_client, "clerk")
    created = await demo_client.post(
        "/api/v1/customers",
        json={"name": "Grace Wambui", "phone": "0711 222 333", "language": "sw", "org_unit_id": None},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["phone"] == "+254711222333" and customer["customer_no"] == "C00000001"
    bad_phone = await demo_client.post(
        "/api/v1/customers", json={"name": "X", "phone": "12ab"}, headers=headers
    )
    assert bad_phone.status_code == 422 and "is not a phone number" in bad_phone.json()["detail"]
    bad_lang = await demo_client.post(
        "/api/v1/customers", json={"name": "X", "language": "de"}, headers=headers
    )
    assert bad_lang.status_code == 400 and "language" in bad_lang.json()["detail"]
    point = (await demo_client.get("/api/v1/network/supply-points", params={"q": "SP-00003"})).json()[
        "items"
    ][0]
    wrong_mode = await demo_client.post(
        "/api/v1/accounts",
        json={
            "customer_id": customer["id"],
            "supply_point_id": point["id"],
            "tariff_id": postpaid_tariff,
            "payment_mode": "prepaid",
        },
        headers=headers,
    )
    assert wrong_mode.status_code == 422
    assert wrong_mode.json()["detail"] == "This tariff is for postpaid accounts only; the account is prepaid."
    opened = await demo_client.post(
        "/api/v1/accounts",
        json={
            "customer_id": customer["id"],
            "supply_point_id": point["id"],
            "tariff_id": tariff,
            "payment_mode": "prepaid",
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    account = opened.json()
    assert account["status"] == "applied" and account["supply_point_code"] == "SP-00003"
    second = await demo_client.post(
        "/api/v1/accounts",
        json={
            "customer_id": customer["id"],
            "supply_point_id": point["id"],
            "tariff_id": tariff,
            "payment_mode": "prepaid",
        },
        headers=headers,
    )
    assert second.status_code == 409
    assert second.json()["detail"].startswith(
        "The supply point 'SP-00003' already has an open account (A00000001)."
    )
    invalid = await demo_client.post(
        f"/api/v1/accounts/{account['id']}/status", json={"status": "suspended"}, headers=headers
    )
    assert invalid.status_code == 409
    assert (
        invalid.json()["detail"]
        == "An account that is applied can only become active or closed, not suspended."
    )
    active = await demo_client.post(
        f"/api/v1/accounts/{account['id']}/status", json={"status": "active"}, headers=headers
    )
    assert active.status_code == 200 and active.json()["status"] == "active"
    other = (await demo_client.post("/api/v1/customers", json={"name": "Tom Mboya"}, headers=headers)).json()
    moved = await demo_client.post(
        f"/api/v1/accounts/{account['id']}/change-tenancy",
        json={"new_customer_id": other["id"]},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["closed"]["close_reason"] == "change of tenancy"
    assert moved.json()["opened"]["previous_account_id"] == account["id"]
    detail = (await demo_client.get(f"/api/v1/customers/{customer['id']}")).json()
    assert [a["status"] for a in detail["accounts"]] == ["closed"]
    for q in ("0711222333", "+254 711 222 333", "711222", "grace WAM", "A00000002", "C00000001"):
        items = (await demo_client.get("/api/v1/customers/search", params={"q": q})).json()["items"]
        assert items, q
    items = (await demo_client.get("/api/v1/customers/search", params={"q": "A00000002"})).json()["items"]
    assert items[0]["name"] == "Tom Mboya" and items[0]["accounts"][0]["status"] == "active"
    listing = (await demo_client.get("/api/v1/customers", params={"account_status": "active"})).json()
    assert listing["total"] == 1 and listing["items"][0]["name"] == "Tom Mboya"
    assert (await demo_client.get("/api/v1/customers/999999")).status_code == 404
    # refusals: an engineer reads customers but cannot register one; an agent cannot even search
    demo_client.cookies.clear()
    engineer = await login(demo_client, "engineer")
    assert (await demo_client.get("/api/v1/customers/search", params={"q": "grace"})).status_code == 200
    assert (
        await demo_client.post("/api/v1/customers", json={"name": "Y"}, headers=engineer)
    ).status_code == 403
    demo_client.cookies.clear()
    await login(demo_client, "agent")
    assert (await demo_client.get("/api/v1/customers/search", params={"q": "grace"})).status_code == 403
