"""Keys page in a real browser: vending keys without material, pending changes, role visibility."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_e2e_staff import login

pytestmark = pytest.mark.e2e


def test_engineer_sees_vending_keys_and_the_key_change_form(page: Any) -> None:
    page.goto("/staff/login")
    login(page, "engineer")
    page.get_by_test_id("nav-keys").click()
    expect(page).to_have_url(re.compile(r"/staff/keys$"))
    table = page.get_by_test_id("vending-keys-table")
    expect(table).to_be_visible()
    rows = table.get_by_test_id("vending-key-row")
    # the three demo keys (other browser tests may add keys for their own test meters)
    for sgc in ("123456", "600999"):
        expect(rows.filter(has_text=sgc).first).to_be_visible()
    assert rows.filter(has_text="123456").count() == 2
    expect(page.get_by_test_id("pending-changes-table")).to_be_visible()
    page.get_by_label("Meter number or id").fill("99999999999")
    page.get_by_role("button", name="Find meter").click()
    expect(page.get_by_test_id("lookup-error")).to_be_visible()


def test_cashier_has_no_keys_page(new_page: Any) -> None:
    page = new_page()
    page.goto("/staff/login")
    login(page, "cashier")
    expect(page.get_by_test_id("app-header")).to_be_visible()
    expect(page.get_by_test_id("nav-keys")).to_have_count(0)
    page.goto("/staff/keys")
    expect(page.get_by_test_id("page-keys")).to_have_count(0)
