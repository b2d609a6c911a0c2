"""A real headless Chromium logs in to the demo and opens the fleet and an aircraft."""

from __future__ import annotations

import os
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
