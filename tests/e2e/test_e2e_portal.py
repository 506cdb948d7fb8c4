"""Customer portal in a real browser: login and the signed-in home page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "gridvend-demo"


def test_portal_login_shows_home(page: Any) -> None:
    page.goto("/portal/")
    expect(page).to_have_url(re.compile(r"/portal/login$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()

    expect(page.get_by_test_id("portal-home")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    me = page.evaluate(
        """async () => {
            const r = await fetch('/api/v1/portal/auth/me', { credentials: 'include' });
            return { status: r.status, body: await r.json() };
        }"""
    )
    assert me["status"] == 200, me
    assert me["body"]["realm"] == "customer"
    assert me["body"]["full_name"].strip()
    expect(page.get_by_test_id("portal-customer-name")).to_have_text(me["body"]["full_name"])

    # A customer session is not a staff session (the backend answers 403 for the wrong realm).
    status = page.evaluate("async () => (await fetch('/api/v1/auth/me', { credentials: 'include' })).status")
    assert status in (401, 403)

    # ... so the staff app treats it as signed out and offers its login page.
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_portal_wrong_password(page: Any) -> None:
    page.goto("/portal/login")
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()
    expect(page.get_by_test_id("portal-home")).to_have_count(0)
