"""Tariffs API over the demo data: reading, drafting, publishing, previews, holidays and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from tests.support.auth import login
from tests.support.tariffs import LIFELINE

Client = AsyncTestClient[Any]


def _future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _tariff_id(client: Client, code: str) -> int:
    listing = (await client.get("/api/v1/tariffs", params={"q": code})).json()
    return int(next(t["id"] for t in listing["items"] if t["code"] == code))


async def test_demo_tariffs_are_listed_with_the_version_in_force(demo_client: Client) -> None:
    await login(demo_client, "cashier")
    response = await demo_client.get("/api/v1/tariffs", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4 and len(body["items"]) == 2
    everything = (await demo_client.get("/api/v1/tariffs")).json()["items"]
    assert {t["code"] for t in everything} == {"DOM-LIFE", "COM-SMALL", "DOM-POST", "COM-TOU"}
    assert all(t["in_force"]["version_no"] == 1 and t["currency"] == "KES" for t in everything)
    tou = (await demo_client.get("/api/v1/tariffs", params={"payment_mode": "postpaid"})).json()
    assert {t["code"] for t in tou["items"]} == {"DOM-POST", "COM-TOU"}
    life = await _tariff_id(demo_client, "DOM-LIFE")
    versions = (await demo_client.get(f"/api/v1/tariffs/{life}/versions")).json()
    assert [(v["version_no"], v["status"]) for v in versions["items"]] == [(2, "draft"), (1, "published")]
    blocks = versions["items"][1]["components"]["energy"]["blocks"]
    assert [b["rate"] for b in blocks] == ["12.00", "18.50", "24.00"]


async def test_preview_what_money_buys(demo_client: Client) -> None:
    headers = await login(demo_client, "supervisor")
    life = await _tariff_id(demo_client, "DOM-LIFE")
    ok = await demo_client.post(
        f"/api/v1/tariffs/{life}/preview", json={"amount_minor": 10_000}, headers=headers
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["text"] == "KES 100.00 buys 7.0 kWh at this tariff this month."
    assert body["energy_wh"] == 7_000 and body["version_no"] == 1
    b = body["breakdown"]
    assert b["energy_net_minor"] + b["energy_tax_minor"] + b["change_minor"] == 10_000
    draft = (await demo_client.get(f"/api/v1/tariffs/{life}/versions")).json()["items"][0]
    at_draft = await demo_client.post(
        f"/api/v1/tariffs/{life}/preview",
        json={"amount_minor": 10_000, "version_id": draft["id"]},
        headers=headers,
    )
    assert at_draft.json()["version_status"] == "draft" and at_draft.json()["energy_wh"] == 6_700
    too_small = await demo_client.post(
        f"/api/v1/tariffs/{life}/preview", json={"amount_minor": 100}, headers=headers
    )
    assert too_small.status_code == 422
    assert too_small.json()["detail"] == "The smallest purchase on this tariff is 50.00."
    tou = await _tariff_id(demo_client, "COM-TOU")
    refused = await demo_client.post(
        f"/api/v1/tariffs/{tou}/preview", json={"amount_minor": 10_000}, headers=headers
    )
    assert refused.status_code == 422 and "time-of-use" in refused.json()["detail"]


async def test_draft_publish_lifecycle_and_messages(demo_client: Client) -> None:
    admin = await login(demo_client, "admin")
    created = await demo_client.post(
        "/api/v1/tariffs",
        json={"code": "TEST-1", "name": "Test tariff", "payment_mode": "prepaid"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    tariff = created.json()
    assert tariff["currency"] == "KES" and tariff["in_force"] is None
    duplicate = await demo_client.post(
        "/api/v1/tariffs", json={"code": "test-1", "name": "Again"}, headers=admin
    )
    assert duplicate.status_code == 409 and "TEST-1" in duplicate.json()["detail"]

    clerk = await login(demo_client, "clerk")
    bad = dict(LIFELINE, taxes=[{"name": "VAT", "percent": "160"}])
    refused = await demo_client.post(
        f"/api/v1/tariffs/{tariff['id']}/versions",
        json={"components": bad, "effective_from": _future()},
        headers=clerk,
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Tax or levy 'VAT': the percentage must be between 0 and 100, got 160."
    naive = await demo_client.post(
        f"/api/v1/tariffs/{tariff['id']}/versions",
        json={"components": LIFELINE, "effective_from": "2031-01-01T00:00:00"},
        headers=clerk,
    )
    assert naive.status_code == 400
    draft = await demo_client.post(
        f"/api/v1/tariffs/{tariff['id']}/versions",
        json={"components": LIFELINE, "effective_from": _future()},
        headers=clerk,
    )
    assert draft.status_code == 201, draft.text
    version = draft.json()
    edited = await demo_client.patch(
        f"/api/v1/tariff-versions/{version['id']}", json={"notes": "checked"}, headers=clerk
    )
    assert edited.status_code == 200 and edited.json()["notes"] == "checked"
    clerk_publish = await demo_client.post(f"/api/v1/tariff-versions/{version['id']}/publish", headers=clerk)
    assert clerk_publish.status_code == 403

    admin = await login(demo_client, "admin")
    published = await demo_client.post(f"/api/v1/tariff-versions/{version['id']}/publish", headers=admin)
    assert published.status_code == 200, published.text
    assert published.json()["version"]["status"] == "published"
    assert published.json()["version"]["published_by"] == "admin"
    assert published.json()["notices_queued"] == 0
    frozen = await demo_client.patch(
        f"/api/v1/tariff-versions/{version['id']}", json={"notes": "too late"}, headers=admin
    )
    assert frozen.status_code == 409
    assert frozen.json()["detail"] == "Published versions cannot be changed; create a new version."
    missing = await demo_client.get("/api/v1/tariff-versions/999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "Tariff version 999999 does not exist."


async def test_roles_are_refused(demo_client: Client) -> None:
    headers = await login(demo_client, "cashier")
    life = await _tariff_id(demo_client, "DOM-LIFE")
    cashier_create = await demo_client.post(
        "/api/v1/tariffs", json={"code": "X", "name": "X"}, headers=headers
    )
    assert cashier_create.status_code == 403
    cashier_draft = await demo_client.post(
        f"/api/v1/tariffs/{life}/versions",
        json={"components": LIFELINE, "effective_from": _future()},
        headers=headers,
    )
    assert cashier_draft.status_code == 403
    headers = await login(demo_client, "engineer")
    assert (await demo_client.get("/api/v1/tariffs")).status_code == 403
    headers = await login(demo_client, "auditor")
    assert (await demo_client.get(f"/api/v1/tariffs/{life}")).status_code == 200
    holiday = await demo_client.post(
        "/api/v1/public-holidays", json={"day": "2031-07-07", "name": "Saba Saba"}, headers=headers
    )
    assert holiday.status_code == 403


async def test_public_holidays(demo_client: Client) -> None:
    headers = await login(demo_client, "admin")
    year = datetime.now(UTC).year
    listing = (await demo_client.get("/api/v1/public-holidays", params={"year": year})).json()
    assert listing["total"] == 10
    assert {"Jamhuri Day", "Good Friday", "Easter Monday"} <= {h["name"] for h in listing["items"]}
    christmas = f"{year}-12-25"
    clash = await demo_client.post(
        "/api/v1/public-holidays", json={"day": christmas, "name": "Again"}, headers=headers
    )
    assert clash.status_code == 409 and "already a public holiday" in clash.json()["detail"]
    added = await demo_client.post(
        "/api/v1/public-holidays", json={"day": f"{year + 1}-07-07", "name": "Saba Saba"}, headers=headers
    )
    assert added.status_code == 201
    removed = await demo_client.delete(f"/api/v1/public-holidays/{added.json()['id']}", headers=headers)
    assert removed.status_code == 204
    after = (await demo_client.get("/api/v1/public-holidays", params={"year": year + 1})).json()
    assert after["total"] == 10
