"""A real headless Chromium logs in to the demo and opens the fleet and an aircraft."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_selector("#fleet-table")


def test_demo_fleet_in_a_browser(live_server, browser, tmp_path):
    call_command("demo")
    page = browser.new_page()
    login(page, live_server.url, "hub")
    rows = page.locator("#fleet-table tbody tr")
    assert rows.count() >= 24
    assert page.locator("#fleet-table").get_by_text("KZ-ADF").first.is_visible()
    page.screenshot(
        path=os.environ.get("KANAT_SCREENSHOT_DIR", str(tmp_path)) + "/fleet.png", full_page=True
    )
    page.click("#fleet-table tbody tr:first-child td:first-child a")
    page.wait_for_selector("#configuration")
    assert page.locator("#configuration").get_by_text("ENG").first.is_visible()
    assert float(page.locator("#fh-now").inner_text()) > 0
    # the configuration panel changes date in place (htmx)
    page.fill("input[name=at]", "2020-01-01T00:00")
    page.click("#configuration ~ * button, form.filters button")
    page.wait_for_function(
        "document.querySelector('#configuration h2').textContent.includes('2020-01-01')"
    )
    assert page.locator("#configuration").get_by_text("empty").count() > 0
    page.close()


def test_operator_sees_only_its_fleet_in_a_browser(live_server, browser):
    call_command("demo")
    page = browser.new_page()
    login(page, live_server.url, "operator-b")
    operators = set(page.locator("#fleet-table tbody tr td:nth-child(2)").all_inner_texts())
    assert operators == {"RP-B"}
    page.close()


def test_due_list_and_planning_timeline_in_a_browser(live_server, browser):
    call_command("demo")
    page = browser.new_page()
    login(page, live_server.url, "hub")
    # airworthiness on the overview: at least one aircraft grounded
    assert page.locator("#fleet-table .badge.grounded").count() >= 1
    page.click("text=Due list")
    page.wait_for_selector("table.due")
    for status in ("overdue", "due soon"):
        assert page.locator("table.due .badge", has_text=status).count() >= 1
    page.locator("table.due tbody tr td a").first.click()
    page.wait_for_selector("#airworthiness")
    page.locator("details summary").first.click()
    assert page.locator("details li", has_text="Rule:").first.is_visible()
    page.click("text=Planning")
    page.wait_for_selector("#timeline")
    assert page.locator("#timeline circle.mark").count() > 10
    assert page.locator("#timeline text.grounded").count() >= 1
    page.close()


@pytest.mark.shared_data
def test_upload_a_flight_log_and_see_its_flights_findings_and_charts(
    live_server, browser, tmp_path
):
    """An operator's fleet manager uploads a real PX4 log: the progress bar runs, the log
    page shows its two flights, the hard landing (demo limits) and the charts."""
    from kanat.fleet.models import Aircraft
    from tests.flightlogs.conftest import shared_log

    call_command("demo")
    aircraft = Aircraft.objects.filter(
        operator__code="KZ-ADF", variant__aircraft_type__kind="aircraft"
    )
    serial = aircraft.order_by("serial").first().serial
    page = browser.new_page()
    login(page, live_server.url, "operator-kz")
    page.click("text=Flight logs")
    page.click("text=Upload a log")
    page.select_option("select[name=aircraft]", label=serial)
    page.set_input_files("input[name=file]", str(shared_log("test.ulg")))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/logs/\d+/$"), timeout=30_000)
    assert page.locator("h1").inner_text().startswith("Flight log test.ulg")
    flights = page.locator("table.data").first.locator("tbody tr")
    assert flights.count() == 2
    assert page.get_by_text("HARD_LANDING").first.is_visible()
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("svg.chart g.finding").count() >= 1
    page.screenshot(
        path=os.environ.get("KANAT_SCREENSHOT_DIR", str(tmp_path)) + "/flightlog.png",
        full_page=True,
    )
    # the raised inspection is on the aircraft's due list
    page.click("text=05-51-01")
    assert page.get_by_text("05-51-01").first.is_visible()
