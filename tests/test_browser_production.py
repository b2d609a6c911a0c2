"""A real headless Chromium walks the build order board: an aircraft order built through
the services up to its last operation, then the hub administrator opens the board and the
order, signs the operation, records a passing inspection, completes the order and finds it
in the completed column."""

from __future__ import annotations

import os

import pytest

from tests.test_browser import browser  # noqa: F401  (the module's Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_the_build_order_board_in_a_browser(live_server, browser, tmp_path):  # noqa: F811
    from kanat.production import build
    from kanat.production.models import BuildStatus
    from tests import factories as f
    from tests.production.test_build import aircraft_line, ops, order_for

    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    join, rig = ops(line)
    build.record_operation(actor=line.tech, order=order, operation=rig)
    f.user(username="hub-browser", password="pw-for-tests-1", role="hub_admin")
    shots = os.environ.get("KANAT_SCREENSHOT_DIR", str(tmp_path))
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000})

    _login(page, base, "hub-browser", "pw-for-tests-1")
    page.goto(f"{base}/production/boms/")
    with page.expect_navigation():
        page.click("#production-nav a:has-text('Build orders')")
    card = page.locator(f"#column-in_progress #order-{order.number}")
    assert card.count() == 1
    assert "operations 1/2" in card.inner_text() and "inspections 0/1" in card.inner_text()
    page.screenshot(path=f"{shots}/build-order-board.png", full_page=True)

    with page.expect_navigation():
        card.click()
    assert page.locator("#order-status").inner_text() == "In progress"
    assert page.locator("#blockers").get_by_text("operation 10 (Join) not signed").count() == 1

    # sign the last operation
    with page.expect_navigation():
        page.locator("#op-10 button.sign-operation").click()
    assert page.locator("#error").count() == 0
    assert "Signed by hub-browser" in page.locator("#op-10").inner_text()

    # record a passing inspection from the measured value
    form = page.locator("#op-20 form.inspect-form")
    form.locator("input[name='m-0-name']").fill("elevator up")
    form.locator("input[name='m-0-value']").fill("29.4")
    form.locator("input[name='m-0-lower']").fill("28")
    form.locator("input[name='m-0-upper']").fill("30")
    form.locator("input[name='m-0-unit']").fill("deg")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("#error").count() == 0
    assert page.locator("#op-20 .inspection-result.passed").count() == 1
    assert page.locator("#ready").is_visible()
    page.screenshot(path=f"{shots}/build-order.png", full_page=True)

    # complete it: it is in the completed column
    with page.expect_navigation():
        page.click("#complete-order")
    assert page.locator("#error").count() == 0
    assert page.locator("#order-status").inner_text() == "Completed"
    assert page.locator("#accept-order").is_visible()
    page.goto(f"{base}/production/orders/")
    assert page.locator(f"#column-completed #order-{order.number}").count() == 1
    assert page.locator(f"#column-in_progress #order-{order.number}").count() == 0
    order.refresh_from_db()
    assert order.status == BuildStatus.COMPLETED
    page.close()
