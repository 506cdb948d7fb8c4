"""Tariffs in a real browser: an admin creates a block tariff, drafts a version, previews and publishes it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_e2e_staff import fetch_json, login

pytestmark = pytest.mark.e2e


def test_admin_drafts_previews_and_publishes_a_block_tariff(page: Any) -> None:
    code = f"E2E-{int(time.time()) % 100000}"
    page.goto("/staff/tariffs")
    login(page, "admin")
    expect(page).to_have_url(re.compile(r"/staff/tariffs$"))
    table = page.get_by_test_id("tariffs-table")
    expect(table.locator('[data-testid="tariff-row"][data-code="DOM-LIFE"]')).to_have_count(1)

    page.get_by_test_id("tariff-new").click()
    page.get_by_test_id("tariff-code").fill(code)
    page.get_by_test_id("tariff-name").fill("E2E Block Tariff")
    page.get_by_test_id("tariff-mode").select_option("prepaid")
    page.get_by_test_id("tariff-create-submit").click()
    expect(page.get_by_test_id("tariff-heading")).to_contain_text("E2E Block Tariff")
    expect(page).to_have_url(re.compile(r"/staff/tariffs\?id=\d+$"))
    tariff_id = int(page.url.rsplit("=", 1)[1])

    # No version is in force yet: the preview says so.
    expect(page.get_by_test_id("preview-error")).to_contain_text("no published version in force")

    page.get_by_test_id("version-new").click()
    editor = page.get_by_test_id("version-editor")
    expect(editor).to_be_visible()
    page.get_by_test_id("energy-block").check()
    uptos = page.get_by_test_id("block-upto")
    rates = page.get_by_test_id("block-rate")
    uptos.nth(0).fill("")  # an open first block: the server names the faulty component
    rates.nth(0).fill("10.00")
    rates.nth(1).fill("20.00")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("editor-error")).to_have_text(
        "Block energy charge, block 1: only the last block may be open-ended (no 'up to')."
    )
    uptos.nth(0).fill("50")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("tariff-notice")).to_have_text("Draft version 1 saved.")
    row = page.locator('[data-testid="version-row"][data-version="1"]')
    expect(row.get_by_test_id("version-status")).to_have_text("Draft")

    # Preview the draft: 100.00 at 10.00/kWh + 16% VAT buys 8.6 kWh (whole 0.1 kWh), 0.24 change.
    page.get_by_test_id("preview-version").select_option(label="Version 1 (draft)")
    page.get_by_test_id("preview-amount").fill("100")
    page.get_by_test_id("preview-run").click()
    expect(page.get_by_test_id("preview-text")).to_have_text(
        "KES 100.00 buys 8.6 kWh at this tariff this month."
    )
    expect(page.get_by_test_id("preview-change")).to_have_text("KES 0.24")

    row.get_by_test_id("version-publish").click()
    confirm = page.get_by_test_id("publish-confirm")
    expect(confirm).to_contain_text("can never be changed")
    page.get_by_test_id("publish-confirm-button").click()
    expect(page.get_by_test_id("tariff-notice")).to_contain_text("Version 1 published")
    expect(row.get_by_test_id("version-status")).to_have_text("Published")
    expect(row.get_by_test_id("version-edit")).to_have_count(0)

    versions = fetch_json(page, f"/api/v1/tariffs/{tariff_id}/versions")
    assert versions["status"] == 200
    (version,) = versions["body"]["items"]
    assert version["status"] == "published" and version["published_by"] == "admin"
    assert [b["up_to_kwh"] for b in version["components"]["energy"]["blocks"]] == ["50", None]


def test_admin_keeps_the_public_holidays_and_a_clerk_only_reads_them(new_page: Any) -> None:
    page = new_page()
    page.goto("/staff/tariffs")
    login(page, "admin")
    holidays = page.get_by_test_id("holidays")
    year = int(page.get_by_test_id("holiday-year").inner_text())
    expect(holidays.locator(f'[data-testid="holiday-row"][data-day="{year}-12-12"]')).to_contain_text(
        "Jamhuri Day"
    )

    page.get_by_test_id("holiday-day").fill("2031-03-03")
    page.get_by_test_id("holiday-name-input").fill("E2E Founders Day")
    page.get_by_test_id("holiday-add").click()
    expect(page.get_by_test_id("holiday-year")).to_have_text("2031")
    row = holidays.locator('[data-testid="holiday-row"][data-day="2031-03-03"]')
    expect(row).to_contain_text("E2E Founders Day")
    expect(row).to_contain_text("Monday")

    page.get_by_test_id("holiday-day").fill("2031-03-03")
    page.get_by_test_id("holiday-name-input").fill("Twice")
    page.get_by_test_id("holiday-add").click()
    expect(page.get_by_test_id("holiday-error")).to_have_text("03 Mar 2031 is already a public holiday.")

    row.get_by_test_id("holiday-edit").click()
    page.get_by_test_id("holiday-edit-name").fill("E2E Heroes Day")
    page.get_by_test_id("holiday-save").click()
    expect(row.get_by_test_id("holiday-name")).to_have_text("E2E Heroes Day")

    clerk = new_page()
    clerk.goto("/staff/tariffs")
    login(clerk, "clerk")
    expect(clerk.get_by_test_id("holiday-table")).to_be_visible()
    expect(clerk.get_by_test_id("holiday-add-form")).to_have_count(0)
    expect(clerk.get_by_test_id("holiday-edit")).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("holiday-delete").click()
    expect(row).to_have_count(0)
    expect(holidays).to_contain_text("No public holidays recorded for 2031.")
