"""Network in a real browser: the engineer opens the demo tree, adds a transformer under a demo feeder and
a supply point under it (server validation first), sees the counts go up, edits and deactivates the
supply point and then the transformer; a supervisor follows a demo supply point to its account and
meter; the auditor only reads; a cashier is not let in.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_e2e_staff import login

pytestmark = pytest.mark.e2e


def _node(page: Any, code: str) -> Any:
    return page.locator(f'[data-testid="tree-node"][data-code="{code}"]')


def _count(node: Any) -> int:
    """The number of supply points a tree node shows for itself (its first count: nested nodes follow)."""
    text = node.get_by_test_id("node-count").first.inner_text()
    return 0 if text == "no supply points" else int(text.split()[0])


def _expand(page: Any, code: str) -> None:
    toggle = _node(page, code).get_by_test_id("node-toggle").first
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")


def test_engineer_adds_a_transformer_and_a_supply_point(page: Any) -> None:
    suffix = uuid.uuid4().hex[:5].upper()
    tx_code, sp_code = f"TX-E2E-{suffix}", f"SP-E2E-{suffix}"
    page.goto("/staff/network")
    login(page, "engineer")
    expect(page.get_by_test_id("page-network")).to_be_visible()

    # Collapsed at first: the substations only.
    expect(_node(page, "SS-NBW")).to_be_visible()
    expect(_node(page, "FD-NBW-01")).to_have_count(0)
    expect(_node(page, "SS-NBW").get_by_test_id("node-rating").first).to_have_text("66 kV")
    _expand(page, "SS-NBW")
    _expand(page, "FD-NBW-01")
    tx = _node(page, "TX-0101")
    expect(tx.get_by_test_id("node-rating")).to_have_text("0.415 kV · 200 kVA")
    expect(tx.get_by_test_id("node-count")).to_have_text("7 supply points")
    feeder_points = _count(_node(page, "FD-NBW-01"))
    substation_points = _count(_node(page, "SS-NBW"))
    assert feeder_points >= 14 and substation_points >= feeder_points

    # The feeder's panel offers a transformer below it.
    _node(page, "FD-NBW-01").get_by_test_id("node-select").first.click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("panel-code")).to_have_text("FD-NBW-01")
    expect(panel.get_by_test_id("panel-voltage")).to_have_text("11 kV")
    panel.get_by_test_id("add-below").click()
    expect(page.get_by_test_id("page-node-new")).to_be_visible()
    expect(page.get_by_test_id("node-kind")).to_have_value("transformer")
    expect(page.get_by_test_id("node-parent").locator("option:checked")).to_contain_text("FD-NBW-01")
    expect(page.get_by_test_id("node-org-unit").locator("option:checked")).to_contain_text("DPL-CEN-01")

    page.get_by_test_id("node-code").fill("TX E2E")
    page.get_by_test_id("node-name").fill("Langata Test TX")
    page.get_by_test_id("node-voltage").fill("0.415")
    page.get_by_test_id("node-rating-input").fill("100")
    page.get_by_test_id("node-submit").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("A code must be 1 to 32 characters")
    page.get_by_test_id("node-code").fill(tx_code)
    page.get_by_test_id("node-submit").click()

    # Back on the tree with the new transformer chosen and its branch open.
    expect(page).to_have_url(re.compile(r"/staff/network\?node=\d+$"))
    expect(panel.get_by_test_id("panel-code")).to_have_text(tx_code)
    expect(panel.get_by_test_id("panel-rating")).to_have_text("100 kVA")
    new_tx = _node(page, tx_code)
    expect(new_tx.get_by_test_id("node-count")).to_have_text("no supply points")
    expect(new_tx.get_by_test_id("node-rating")).to_have_text("0.415 kV · 100 kVA")
    expect(panel.get_by_test_id("points-total")).to_have_text("0 supply points")

    panel.get_by_test_id("add-below").click()
    expect(page.get_by_test_id("page-point-new")).to_be_visible()
    expect(page.get_by_test_id("point-transformer").locator("option:checked")).to_contain_text(tx_code)
    page.get_by_test_id("point-code").fill(sp_code)
    page.get_by_test_id("point-address-input").fill("Plot 7, Test Lane")
    page.get_by_test_id("point-town").fill("Langata, Nairobi")
    page.get_by_test_id("point-latitude").fill("-1.3301")
    page.get_by_test_id("point-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text("Give both latitude and longitude, or neither.")
    page.get_by_test_id("point-longitude").fill("36.7802")
    page.get_by_test_id("point-submit").click()

    expect(page.get_by_test_id("page-point-detail")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/staff/network/supply-points/\d+$"))
    expect(page.get_by_test_id("detail-point-code")).to_have_text(sp_code)
    expect(page.get_by_test_id("point-status")).to_have_text("In use")
    expect(page.get_by_test_id("point-detail-transformer")).to_contain_text(tx_code)
    expect(page.get_by_test_id("no-account")).to_be_visible()
    expect(page.get_by_test_id("no-meter")).to_be_visible()

    page.get_by_test_id("edit-point").click()
    page.get_by_test_id("edit-point-address").fill("Plot 9, Test Lane")
    with page.expect_request(lambda r: r.method == "PATCH") as patch:
        page.get_by_test_id("point-save").click()
    assert patch.value.post_data_json == {"address": "Plot 9, Test Lane"}
    expect(page.get_by_test_id("point-saved")).to_be_visible()
    expect(page.get_by_test_id("point-detail-address")).to_have_text("Plot 9, Test Lane")

    # The counts went up along the branch, and the transformer lists the point with its new address.
    page.get_by_test_id("point-detail-transformer").get_by_role("link").click()
    expect(panel.get_by_test_id("panel-code")).to_have_text(tx_code)
    expect(new_tx.get_by_test_id("node-count")).to_have_text("1 supply point")
    expect(_node(page, "FD-NBW-01").get_by_test_id("node-count").first).to_have_text(
        f"{feeder_points + 1} supply points"
    )
    expect(_node(page, "SS-NBW").get_by_test_id("node-count").first).to_have_text(
        f"{substation_points + 1} supply points"
    )
    point_row = panel.locator(f'[data-testid="point-row"][data-code="{sp_code}"]')
    expect(point_row.get_by_test_id("point-address")).to_have_text("Plot 9, Test Lane")

    # Without an account it can be taken out of use; the transformer then feeds none again.
    point_row.get_by_role("link", name=sp_code).click()
    page.get_by_test_id("deactivate-point").click()
    page.get_by_test_id("deactivate-reason").fill("Plot merged with its neighbour")
    page.get_by_test_id("deactivate-submit").click()
    expect(page.get_by_test_id("point-status")).to_have_text("Deactivated")
    expect(page.get_by_test_id("deactivate-point")).to_have_count(0)
    page.get_by_test_id("point-detail-transformer").get_by_role("link").click()
    expect(new_tx.get_by_test_id("node-count")).to_have_text("no supply points")

    # A transformer that feeds nothing can be taken out of use too: the tree marks it inactive.
    expect(new_tx.get_by_test_id("node-inactive")).to_have_count(0)
    panel.get_by_test_id("edit-node").click()
    page.get_by_test_id("node-active").uncheck()
    page.get_by_test_id("node-save").click()
    expect(panel.get_by_test_id("panel-status")).to_have_text("Deactivated")
    expect(new_tx.get_by_test_id("node-inactive")).to_have_text("inactive")
    expect(panel.get_by_test_id("add-below")).to_have_count(0)


def test_supervisor_follows_a_supply_point_to_its_account_and_meter(page: Any) -> None:
    page.goto("/staff/network/supply-points")
    login(page, "supervisor")
    expect(page.get_by_test_id("page-supply-points")).to_be_visible()
    page.get_by_test_id("point-q").fill("SP-00002")
    row = page.get_by_test_id("point-row")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="SP-00002").click()

    expect(page.get_by_test_id("detail-point-code")).to_have_text("SP-00002")
    expect(page.get_by_test_id("current-account")).to_contain_text("A00000002")
    expect(page.get_by_test_id("current-account").get_by_role("link")).to_have_text("Otieno Odhiambo")

    # An open account keeps the supply point in use.
    page.get_by_test_id("deactivate-point").click()
    page.get_by_test_id("deactivate-submit").click()
    expect(page.get_by_test_id("deactivate-error")).to_have_text(
        "The supply point 'SP-00002' still has the open account A00000002; close it first."
    )
    expect(page.get_by_test_id("point-status")).to_have_text("In use")

    meter = page.get_by_test_id("installed-meter").get_by_role("link")
    meter_no = meter.inner_text()
    meter.click()
    expect(page.get_by_test_id("page-meter-detail")).to_be_visible()
    expect(page.get_by_test_id("detail-meter-no")).to_have_text(meter_no)
    expect(page.get_by_test_id("detail-supply-point")).to_contain_text("SP-00002")

    page.go_back()
    page.get_by_test_id("current-account").get_by_role("link").click()
    expect(page.get_by_test_id("page-customer-detail")).to_be_visible()
    expect(page.get_by_test_id("detail-name")).to_have_text("Otieno Odhiambo")


def test_auditor_reads_the_network_without_write_actions(page: Any) -> None:
    page.goto("/staff/network")
    login(page, "auditor")
    expect(page.get_by_test_id("page-network")).to_be_visible()
    expect(page.get_by_role("link", name="Add node")).to_have_count(0)
    expect(page.get_by_role("link", name="Add supply point")).to_have_count(0)
    _expand(page, "SS-KRB")
    _expand(page, "FD-KRB-01")
    _node(page, "TX-0301").get_by_test_id("node-select").click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("points-total")).to_have_text(re.compile(r"^\d+ supply points?$"))
    expect(panel.get_by_test_id("edit-node")).to_have_count(0)
    expect(panel.get_by_test_id("add-below")).to_have_count(0)

    panel.get_by_test_id("point-row").first.get_by_role("link").click()
    expect(page.get_by_test_id("page-point-detail")).to_be_visible()
    expect(page.get_by_test_id("edit-point")).to_have_count(0)
    expect(page.get_by_test_id("deactivate-point")).to_have_count(0)

    page.goto("/staff/network/nodes/new")
    expect(page.get_by_test_id("forbidden")).to_be_visible()


def test_cashier_is_not_let_into_the_network(page: Any) -> None:
    page.goto("/staff/login")
    login(page, "cashier")
    expect(page.get_by_test_id("nav-vending")).to_be_visible()
    expect(page.get_by_test_id("nav-network")).to_have_count(0)
    page.goto("/staff/network")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("page-network")).to_have_count(0)
    page.goto("/staff/network/supply-points/1")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("page-point-detail")).to_have_count(0)
