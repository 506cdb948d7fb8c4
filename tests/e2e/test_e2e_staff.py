"""Staff app in a real browser: login, role-filtered shell, admin pages, deep links, sign-out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "gridvend-demo"

SCREENSHOT = "/tmp/staff-shell.png"


def login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill and submit the staff login form on the current page."""
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()


def fetch_status(page: Any, url: str) -> int:
    """HTTP status of a GET made by the page itself (its cookies, its origin)."""
    return int(page.evaluate("async (u) => (await fetch(u, { credentials: 'include' })).status", url))


def fetch_json(page: Any, url: str) -> Any:
    return page.evaluate(
        """async (u) => {
            const r = await fetch(u, { credentials: 'include' });
            return { status: r.status, body: await r.json() };
        }""",
        url,
    )


def test_admin_sees_shell_and_users(page: Any) -> None:
    page.goto("/staff/")
    # Not signed in: sent to the login page.
    expect(page).to_have_url(re.compile(r"/staff/login$"))
    login(page, "admin")

    header = page.get_by_test_id("app-header")
    expect(header).to_be_visible()
    expect(page).to_have_url(re.compile(r"/staff/$"))

    me = fetch_json(page, "/api/v1/auth/me")
    assert me["status"] == 200, me
    assert me["body"]["username"] == "admin"
    assert "admin" in me["body"]["roles"]
    assert me["body"]["full_name"].strip()
    expect(page.get_by_test_id("user-name")).to_have_text(me["body"]["full_name"])
    expect(page.get_by_test_id("user-roles")).to_contain_text("Administrator")
    if me["body"]["org_unit"]:
        expect(page.get_by_test_id("user-org")).to_have_text(me["body"]["org_unit"]["name"])
    expect(page.get_by_test_id("sign-out")).to_be_visible()

    # Role-filtered navigation: admin sees the Admin group, not cashier-only Vending.
    expect(page.get_by_test_id("nav-admin")).to_be_visible()
    expect(page.get_by_test_id("nav-audit_log")).to_be_visible()
    expect(page.get_by_test_id("nav-customers")).to_be_visible()
    expect(page.get_by_test_id("nav-vending")).to_have_count(0)

    page.get_by_test_id("nav-admin_users").click()
    expect(page).to_have_url(re.compile(r"/staff/admin/users$"))
    table = page.get_by_test_id("users-table")
    expect(table).to_be_visible()
    expect(table.locator('[data-testid="user-row"][data-username="cashier"]')).to_have_count(1)
    expect(table.locator('[data-testid="user-row"][data-username="admin"]')).to_have_count(1)

    page.screenshot(path=SCREENSHOT, full_page=True)

    # Area placeholders and unknown routes render inside the shell.
    page.get_by_test_id("nav-meters").click()
    expect(page.get_by_test_id("page-meters").get_by_role("heading", name="Meters")).to_be_visible()
    page.goto("/staff/no/such/page")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(header).to_be_visible()

    # The audit log lists real events (at least this admin's sign-in).
    page.get_by_test_id("nav-audit_log").click()
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    expect(page.get_by_test_id("audit-row").first).to_be_visible()


def test_deep_link_loads_after_login(page: Any) -> None:
    # Unauthenticated deep link: the server's fallback serves the app, which sends us to login ...
    response = page.goto("/staff/admin/users")
    assert response is not None and response.status == 200
    expect(page).to_have_url(re.compile(r"/staff/login\?next=%2Fadmin%2Fusers$"))
    login(page, "admin")
    # ... and back to where we wanted to go.
    expect(page).to_have_url(re.compile(r"/staff/admin/users$"))
    expect(page.get_by_test_id("users-table")).to_be_visible()

    # Signed in: loading the deep link directly (full page load) works too.
    response = page.goto("/staff/admin/users")
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("users-table").locator('[data-username="cashier"]')).to_have_count(1)


def test_cashier_has_no_admin(page: Any) -> None:
    page.goto("/staff/login")
    login(page, "cashier")
    expect(page.get_by_test_id("app-header")).to_be_visible()
    expect(page.get_by_test_id("nav-vending")).to_be_visible()
    expect(page.get_by_test_id("nav-admin")).to_have_count(0)
    expect(page.get_by_test_id("nav-admin_users")).to_have_count(0)

    # The session is live (200), yet the users API is refused for a cashier.
    assert fetch_status(page, "/api/v1/auth/me") == 200
    assert fetch_status(page, "/api/v1/users") == 403

    page.goto("/staff/admin/users")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("forbidden")).to_contain_text("not allowed")
    expect(page.get_by_test_id("users-table")).to_have_count(0)


def test_wrong_password_shows_detail(page: Any) -> None:
    page.goto("/staff/login")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_label("Username").fill("engineer")
    page.get_by_label("Password").fill("not-the-password")

    # Hold the request to see the button disabled while submitting.
    held: list[Any] = []
    page.route("**/api/v1/auth/login", lambda route: held.append(route))
    submit = page.get_by_test_id("login-submit")
    submit.click()
    expect(submit).to_be_disabled()
    expect(page.get_by_label("Password")).to_be_disabled()
    assert len(held) == 1
    with page.expect_response("**/api/v1/auth/login") as response_info:
        held[0].continue_()
    response = response_info.value
    page.unroute("**/api/v1/auth/login")
    assert response.status == 401
    assert "problem+json" in response.headers.get("content-type", "")
    detail = json.loads(response.text())["detail"]
    assert detail

    error = page.get_by_test_id("login-error")
    expect(error).to_have_text(detail)
    expect(submit).to_be_enabled()
    expect(page.get_by_test_id("app-header")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/staff/login$"))
    assert fetch_status(page, "/api/v1/auth/me") == 401


def test_sign_out(page: Any) -> None:
    page.goto("/staff/login")
    login(page, "supervisor")
    expect(page.get_by_test_id("app-header")).to_be_visible()
    assert fetch_status(page, "/api/v1/auth/me") == 200

    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/staff/login$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("app-header")).to_have_count(0)
    assert fetch_status(page, "/api/v1/auth/me") == 401

    # And the app no longer lets us in.
    page.goto("/staff/customers")
    expect(page).to_have_url(re.compile(r"/staff/login\?next=%2Fcustomers$"))


def test_mobile_menu(new_page: Any) -> None:
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto("/staff/login")
    login(page, "clerk")
    expect(page.get_by_test_id("app-header")).to_be_visible()
    nav_link = page.get_by_test_id("nav-billing")
    toggle = page.get_by_test_id("menu-toggle")
    expect(nav_link).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nav_link.click()
    expect(page.get_by_test_id("page-billing")).to_be_visible()
    # Navigating closes the menu again.
    expect(nav_link).to_be_hidden()
