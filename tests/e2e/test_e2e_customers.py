"""Customers in a real browser: find demo customers (list, filters, search by name and by a phone written
the national way), edit a phone, register a customer (server validation first), open an account at a
free supply point, activate and suspend it, change the tenancy of a demo account; the auditor only reads.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from backend.demo import DEMO_PASSWORD
from tests.e2e.test_e2e_staff import login

pytestmark = pytest.mark.e2e

EN_DASH = "\u2013"  # the range in "30 customers — showing 1 to 25"


@contextmanager
def _api(server: str, username: str) -> Iterator[httpx.Client]:
    """An API client signed in as a demo user (session cookie + CSRF header)."""
    with httpx.Client(base_url=server, timeout=20) as client:
        resp = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert resp.status_code == 200, resp.text
        client.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
        yield client


def _free_supply_point(server: str) -> str:
    """A new supply point (no account yet) under the demo transformer TX-0302; returns its code."""
    code = f"SP-E2E-{uuid.uuid4().hex[:6].upper()}"
    with _api(server, "engineer") as client:
        nodes = client.get("/api/v1/network/nodes", params={"q": "TX-0302"}).json()["items"]
        made = client.post(
            "/api/v1/network/supply-points",
            json={"code": code, "transformer_id": nodes[0]["id"], "address": "Plot 12, Kangundo Rd"},
        )
        assert made.status_code == 201, made.text
    return code


def _new_customer(server: str, name: str) -> str:
    """Register a customer through the API (as the billing clerk); returns the customer number."""
    with _api(server, "clerk") as client:
        made = client.post("/api/v1/customers", json={"name": name, "phone": "0700 123 456"})
        assert made.status_code == 201, made.text
        return str(made.json()["customer_no"])


def _row(page: Any, account_no: str) -> Any:
    return page.locator(f'[data-testid="account-row"][data-account-no="{account_no}"]')


def test_clerk_finds_a_demo_customer_and_edits_the_phone(page: Any) -> None:
    page.goto("/staff/customers")
    login(page, "clerk")
    expect(page.get_by_test_id("page-customers")).to_be_visible()

    # The empty search box shows the server-side list, a page of 25 at a time, with server filters.
    total = page.get_by_test_id("customers-total")
    expect(total).to_have_text(re.compile(rf"^\d+ customers — showing 1{EN_DASH}25$"))
    expect(page.get_by_test_id("customer-row")).to_have_count(25)
    page.get_by_role("button", name="Next").click()
    expect(total).to_contain_text(f"showing 26{EN_DASH}")
    page.get_by_test_id("filter-kind").select_option("company")
    expect(total).to_have_text("5 customers")
    expect(page.get_by_test_id("customer-kind")).to_have_text(["Company"] * 5)
    expect(page.get_by_test_id("customer-category")).to_have_text(["Commercial"] * 5)

    # Part of the first and of the last name, in any case.
    search = page.get_by_test_id("customer-q")
    search.fill("achi WANJ")
    hit = page.get_by_test_id("search-hit")
    expect(hit).to_have_count(1)
    expect(hit.get_by_test_id("hit-name")).to_have_text("Achieng Wanjiku")
    expect(hit.get_by_test_id("hit-matched")).to_have_text("matched on name")
    expect(hit.get_by_test_id("hit-account")).to_contain_text("A00000003")
    expect(hit.get_by_test_id("hit-account")).to_contain_text("Active")
    expect(hit.get_by_test_id("hit-account")).to_contain_text("Kibera Dr")

    # The same customer by their phone written the national way (0 instead of +254, with spaces).
    phone = hit.get_by_test_id("hit-phone").inner_text()
    assert re.fullmatch(r"\+254\d{9}", phone), phone
    national = f"0{phone[4:7]} {phone[7:10]} {phone[10:]}"
    search.fill(national)
    expect(page.get_by_test_id("search-count")).to_contain_text(national)
    expect(hit).to_have_count(1)
    expect(hit.get_by_test_id("hit-name")).to_have_text("Achieng Wanjiku")
    expect(hit.get_by_test_id("hit-matched")).to_have_text("matched on phone")

    hit.get_by_test_id("hit-name").click()
    expect(page).to_have_url(re.compile(r"/staff/customers/\d+$"))
    expect(page.get_by_test_id("detail-name")).to_have_text("Achieng Wanjiku")
    expect(page.get_by_test_id("detail-phone")).to_have_text(phone)
    expect(_row(page, "A00000003").get_by_test_id("account-status")).to_have_text("Active")

    # Edit: only the changed field goes to the server; it comes back in E.164.
    page.get_by_test_id("edit-customer").click()
    page.get_by_test_id("customer-phone").fill("0722 100 200")
    with page.expect_request(lambda r: r.method == "PATCH") as patch:
        page.get_by_test_id("customer-save").click()
    assert patch.value.post_data_json == {"phone": "0722 100 200"}
    expect(page.get_by_test_id("customer-saved")).to_be_visible()
    expect(page.get_by_test_id("detail-phone")).to_have_text("+254722100200")

    # And the search finds her by the new number (the back button keeps the earlier search).
    page.go_back()
    expect(page.get_by_test_id("customer-q")).to_have_value(national)
    page.get_by_test_id("customer-q").fill("+254 722 100 200")
    expect(hit).to_have_count(1)
    expect(hit.get_by_test_id("hit-name")).to_have_text("Achieng Wanjiku")


def test_clerk_registers_a_customer_and_runs_an_account(page: Any, server: str) -> None:
    point = _free_supply_point(server)
    page.goto("/staff/customers/new")
    login(page, "clerk")
    expect(page.get_by_test_id("page-customer-new")).to_be_visible()
    expect(page.get_by_test_id("customer-org-unit")).to_have_value(re.compile(r"^\d+$"))

    page.get_by_test_id("customer-name").fill("Zawadi  Achola")
    page.get_by_test_id("customer-email").fill("zawadi@")
    page.get_by_test_id("customer-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text(
        "'zawadi@' is not an e-mail address like name@example.com."
    )
    page.get_by_test_id("customer-email").fill("zawadi@example.com")
    page.get_by_test_id("customer-phone").fill("0712-ABC")
    page.get_by_test_id("customer-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text(
        "'0712-ABC' is not a phone number: use digits, spaces and an optional leading +."
    )
    page.get_by_test_id("customer-phone").fill("0733 444 555")
    page.get_by_test_id("customer-language").select_option("sw")
    page.get_by_test_id("customer-submit").click()

    expect(page).to_have_url(re.compile(r"/staff/customers/\d+$"))
    expect(page.get_by_test_id("detail-name")).to_have_text("Zawadi Achola")
    expect(page.get_by_test_id("detail-customer-no")).to_have_text(re.compile(r"^C\d{8}$"))
    expect(page.get_by_test_id("detail-phone")).to_have_text("+254733444555")
    expect(page.get_by_test_id("detail-email")).to_have_text("zawadi@example.com")
    expect(page.get_by_test_id("no-accounts")).to_be_visible()

    # Open an account at the free supply point; the tariff list follows the payment mode.
    page.get_by_test_id("open-account").click()
    page.get_by_test_id("pick-point-q").fill(point)
    page.locator(f'[data-testid="pick-point"][data-code="{point}"]').click()
    expect(page.get_by_test_id("picked-point")).to_contain_text(point)
    expect(page.get_by_test_id("point-occupied")).to_have_count(0)
    tariffs = page.get_by_test_id("account-tariff-select").locator("option")
    expect(tariffs.filter(has_text="DOM-LIFE")).to_have_count(1)
    expect(tariffs.filter(has_text="DOM-POST")).to_have_count(0)
    page.get_by_test_id("account-mode").select_option("postpaid")
    expect(tariffs.filter(has_text="DOM-POST")).to_have_count(1)
    expect(tariffs.filter(has_text="DOM-LIFE")).to_have_count(0)
    page.get_by_test_id("account-mode").select_option("prepaid")
    page.get_by_test_id("account-tariff-select").select_option(label="DOM-LIFE — Domestic Lifeline")
    page.get_by_test_id("account-submit").click()

    row = page.get_by_test_id("account-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("account-status")).to_have_text("Applied")
    expect(row.get_by_test_id("account-tariff")).to_have_text("DOM-LIFE")
    expect(row.get_by_test_id("account-supply-point")).to_contain_text(point)
    expect(row.get_by_test_id("account-credit")).to_have_text("KES 0.00")
    expect(row.get_by_test_id("account-suspend")).to_have_count(0)

    row.get_by_test_id("account-activate").click()
    page.get_by_test_id("status-submit").click()
    expect(row.get_by_test_id("account-status")).to_have_text("Active")
    expect(row).to_have_attribute("data-status", "active")

    row.get_by_test_id("account-suspend").click()
    page.get_by_test_id("status-reason").fill("Meter tampering reported")
    page.get_by_test_id("status-submit").click()
    expect(row.get_by_test_id("account-status")).to_have_text("Suspended")
    expect(row.get_by_test_id("account-activate")).to_be_visible()
    expect(page.get_by_test_id("status-form")).to_have_count(0)

    # The supply point is taken now: choosing it again says so.
    page.get_by_test_id("open-account").click()
    page.get_by_test_id("pick-point-q").fill(point)
    page.locator(f'[data-testid="pick-point"][data-code="{point}"]').click()
    expect(page.get_by_test_id("point-occupied")).to_contain_text("Zawadi Achola")
    page.get_by_test_id("account-submit").click()
    expect(page.get_by_test_id("action-error")).to_contain_text(f"The supply point '{point}' already has")


def test_clerk_changes_the_tenancy_of_a_demo_account(page: Any, server: str) -> None:
    newcomer = f"Baraka Tenant {uuid.uuid4().hex[:4]}"
    customer_no = _new_customer(server, newcomer)
    page.goto("/staff/customers?q=kamau%20mwangi")
    login(page, "clerk")
    expect(page.get_by_test_id("customer-q")).to_have_value("kamau mwangi")
    page.get_by_test_id("search-hit").filter(has_text="C00000004").get_by_test_id("hit-name").click()
    expect(page.get_by_test_id("detail-name")).to_have_text("Kamau Mwangi")
    old = _row(page, "A00000004")
    expect(old.get_by_test_id("account-status")).to_have_text("Active")

    old.get_by_test_id("account-tenancy").click()
    form = page.get_by_test_id("tenancy-form")
    expect(form).to_contain_text("Change of tenancy at SP-00004")
    page.get_by_test_id("pick-customer-q").fill(customer_no)
    page.locator(f'[data-testid="pick-customer"][data-customer-no="{customer_no}"]').click()
    expect(page.get_by_test_id("picked-customer")).to_contain_text(newcomer)
    page.get_by_test_id("tenancy-note").fill("Remaining credit refunded to Kamau Mwangi in cash.")
    page.get_by_test_id("tenancy-submit").click()

    expect(old.get_by_test_id("account-status")).to_have_text("Closed")
    expect(old.get_by_test_id("account-close-reason")).to_have_text("change of tenancy")
    expect(old.get_by_test_id("account-tenancy")).to_have_count(0)
    done = page.get_by_test_id("tenancy-done")
    expect(done).to_contain_text("A00000004 is closed")
    new_account = page.get_by_test_id("tenancy-new-account").inner_text()
    assert re.fullmatch(r"A\d{8}", new_account), new_account

    page.get_by_test_id("tenancy-new-customer").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(newcomer)
    new = _row(page, new_account)
    expect(new.get_by_test_id("account-status")).to_have_text("Active")
    expect(new.get_by_test_id("account-supply-point")).to_contain_text("SP-00004")
    expect(new.get_by_test_id("account-tariff")).to_have_text("DOM-LIFE")


def test_auditor_reads_customers_but_has_no_write_actions(page: Any) -> None:
    page.goto("/staff/customers")
    login(page, "auditor")
    expect(page.get_by_test_id("page-customers")).to_be_visible()
    expect(page.get_by_role("link", name="Register a customer")).to_have_count(0)

    page.get_by_test_id("customer-q").fill("wanjiru kamau")
    page.get_by_test_id("search-hit").filter(has_text="C00000001").get_by_test_id("hit-name").click()
    expect(page.get_by_test_id("detail-name")).to_have_text("Wanjiru Kamau")
    row = _row(page, "A00000001")
    expect(row.get_by_test_id("account-status")).to_have_text("Active")
    # The auditor may read meters: the installed meter links to its page.
    expect(row.get_by_test_id("account-meter").get_by_role("link")).to_have_text(re.compile(r"^\d{11}$"))
    for action in ("account-activate", "account-suspend", "account-close", "account-tenancy"):
        expect(page.get_by_test_id(action)).to_have_count(0)
    expect(page.get_by_test_id("edit-customer")).to_have_count(0)
    expect(page.get_by_test_id("open-account")).to_have_count(0)

    page.goto("/staff/customers/new")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("page-customer-new")).to_have_count(0)
