"""A real headless Chromium opens the transfer dashboard: a local trainee's supervised steps,
a released package and training built through the services; the hub user sees the charts
and the figures, switches to one operator and downloads the CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from tests.test_browser import browser  # noqa: F401  (the module's Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _row(page, table: str, month: str) -> list[str]:
    cells = page.locator(f"{table} tbody tr", has_text=month).first.locator("td")
    return [cells.nth(i).inner_text().strip() for i in range(cells.count())]


def test_the_transfer_dashboard_in_a_browser(live_server, browser, tmp_path):  # noqa: F811
    from tests.training.test_dashboard import transfer_world

    w = transfer_world(hub_username="hub-dash-browser")
    a, b = w.a.h.operator.code, w.b.h.operator.code
    month = w.month.label
    shots = os.environ.get("KANAT_SCREENSHOT_DIR", str(tmp_path))
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)

    _login(page, base, "hub-dash-browser", "pw-for-tests-1")
    page.goto(f"{base}/training/dashboard/")
    assert page.locator("h1").inner_text() == "Transfer dashboard"
    # the charts: shares, stages, hours (and production localisation's section)
    for section in ("#shares", "#stages", "#hours"):
        assert page.locator(f"{section} svg.chart").count() == 1
    assert page.locator("#shares svg circle.dash-point").count() > 0
    assert page.locator("#stages svg rect.dash-bar").count() > 0
    assert page.locator("#hours svg rect.dash-bar").count() > 0
    assert page.locator("#localisation").count() == 1
    # the hub total: 3 of 5 steps by locally trained staff, the release by one
    assert page.locator("#scope").inner_text() == "hub total (all operators)"
    assert _row(page, "#share-table", month) == [month, "3", "5", "60%", "1", "1", "100%"]
    stage = f"{w.a.supervised.aircraft_type.code} Supervised"
    assert page.locator("#stage-table thead").get_by_text(stage).count() == 1
    page.screenshot(path=f"{shots}/transfer-dashboard.png", full_page=True)

    # switch to operator B: none of its one step was by locally trained staff
    page.select_option("#operator-select", b)
    with page.expect_navigation():
        page.click("#apply")
    assert b in page.locator("#scope").inner_text()
    assert _row(page, "#share-table", month) == [month, "0", "1", "0%", "0", "0", "—"]
    page.select_option("#operator-select", a)
    with page.expect_navigation():
        page.click("#apply")
    assert _row(page, "#share-table", month) == [month, "3", "4", "75%", "1", "1", "100%"]

    # download the CSV of the same figures
    with page.expect_download() as info:
        page.click("#csv")
    path = info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    got = {(r["month"], r["series"], r["operator"]): r for r in rows}
    assert got[month, "local_step_share", a]["value"] == "0.7500"
    assert got[month, "local_step_share", "hub"]["numerator"] == "3"
    page.close()
