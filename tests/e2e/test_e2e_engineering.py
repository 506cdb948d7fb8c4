"""Engineering page in real browsers: an engineer asks for a clear-credit token, a second engineer (in
another browser context) approves it and sees the token; the requester cannot approve their own."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from backend.demo import DEMO_PASSWORD
from tests.e2e.test_e2e_staff import login

pytestmark = pytest.mark.e2e


def _api_login(client: httpx.Client, username: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"X-CSRF-Token": resp.json()["csrf_token"]}


def _second_engineer_and_meter(server: str) -> str:
    """Create a second engineer (as the demo admin); return the number of a DKGA04 base-2014 meter."""
    with httpx.Client(base_url=server, timeout=20) as client:
        headers = _api_login(client, "admin")
        users = client.get("/api/v1/users", params={"limit": 200}).json()["items"]
        engineer = next(u for u in users if u["username"] == "engineer")
        if not any(u["username"] == "engineer2" for u in users):
            made = client.post(
                "/api/v1/users",
                json={
                    "username": "engineer2",
                    "full_name": "Second Engineer",
                    "password": DEMO_PASSWORD,
                    "roles": ["engineer"],
                    "org_unit_id": engineer["org_unit"]["id"],
                },
                headers=headers,
            )
            assert made.status_code == 201, made.text
        meters = client.get("/api/v1/meters", params={"limit": 200}).json()["items"]
        meter = next(
            m for m in meters if m.get("sts") and m["sts"]["sgc"] == 600999 and m["sts"]["base_date"] == 2014
        )
        return str(meter["meter_no"])


def test_clear_credit_needs_a_second_engineer(new_page: Any, server: str) -> None:
    meter_no = _second_engineer_and_meter(server)
    first = new_page()
    first.goto("/staff/login")
    login(first, "engineer")
    first.get_by_test_id("nav-engineering").click()
    expect(first).to_have_url(re.compile(r"/staff/engineering$"))
    first.get_by_label("Meter number").fill(meter_no)
    first.get_by_role("button", name="Find meter").click()
    expect(first.get_by_test_id("engineering-meter")).to_have_text(meter_no)
    form = first.get_by_test_id("engineering-form")
    form.get_by_label("Function").select_option("clear_credit")
    form.get_by_label("Reason / movement note").fill("E2E: meter swap, clear credit")
    form.get_by_role("button", name="Request token").click()
    expect(first.get_by_test_id("engineering-result")).to_contain_text("waiting for a second person")
    row = first.get_by_test_id("pending-row").filter(has_text=meter_no).first
    expect(row).to_be_visible()
    row.get_by_role("button", name="Approve").click()
    expect(first.get_by_test_id("decision-error")).to_contain_text("cannot approve it yourself")

    second = new_page()
    second.goto("/staff/login")
    login(second, "engineer2")
    second.get_by_test_id("nav-engineering").click()
    row2 = second.get_by_test_id("pending-row").filter(has_text=meter_no).first
    expect(row2).to_be_visible()
    row2.get_by_role("button", name="Approve").click()
    result = second.get_by_test_id("decision-result")
    expect(result).to_contain_text("issued")
    expect(result.locator(".token").first).to_have_text(re.compile(r"^\d{4} \d{4} \d{4} \d{4} \d{4}$"))
