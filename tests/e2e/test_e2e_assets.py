"""Meters in a real browser: register a meter (bad check digit first), then issue it to a crew."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

import sts

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "gridvend-demo"


def login(page: Any, username: str) -> None:
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_engineer_registers_a_meter_and_issues_it_to_a_crew(page: Any) -> None:
    number = sts.drn_from_parts("07", "88000123")
    wrong = number[:-1] + str((int(number[-1]) + 3) % 10)

    page.goto("/staff/meters/new")
    login(page, "engineer")
    expect(page.get_by_test_id("page-meter-new")).to_be_visible()
    expect(page.get_by_test_id("meter-location").locator("option", has_text="WH-CEN")).to_have_count(1)

    page.get_by_test_id("meter-no").fill(wrong)
    page.get_by_test_id("meter-kind").select_option("sts_keypad")
    page.get_by_test_id("meter-manufacturer").fill("Hexing")
    page.get_by_test_id("meter-model").fill("HXE110-KP")
    page.get_by_test_id("meter-sgc").fill("600999")
    page.get_by_test_id("meter-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text(
        f"Meter number {wrong} has a wrong check digit: expected {number[-1]}. Check the number on the meter."
    )

    page.get_by_test_id("meter-no").fill(number)
    page.get_by_test_id("meter-submit").click()
    expect(page.get_by_test_id("page-meter-detail")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/staff/meters/\d+$"))
    expect(page.get_by_test_id("detail-meter-no")).to_have_text(number)
    expect(page.get_by_test_id("detail-status")).to_have_text("In stock")
    expect(page.get_by_test_id("detail-pan")).to_have_text(re.compile(rf"^600727{number}\d$"))
    expect(page.get_by_test_id("detail-sts")).to_contain_text("600999")

    page.get_by_test_id("move-issued").click()
    page.get_by_test_id("move-location").select_option(label="CREW-CEN-1 — Central Crew 1 (installations)")
    page.get_by_test_id("move-submit").click()
    expect(page.get_by_test_id("detail-status")).to_have_text("Issued to crew")
    expect(page.get_by_test_id("detail-location")).to_contain_text("CREW-CEN-1")
    history = page.get_by_test_id("history-item")
    expect(history).to_have_count(2)
    expect(history.first).to_have_attribute("data-to-status", "issued")
    expect(history.first).to_contain_text("by engineer")

    # The list finds it by the start of its number.
    page.get_by_role("link", name="Meters", exact=True).first.click()
    page.get_by_test_id("meter-q").fill(number[:8])
    row = page.get_by_test_id("meter-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("meter-status")).to_have_text("Issued to crew")
