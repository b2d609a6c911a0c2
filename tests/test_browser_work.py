"""A real headless Chromium takes a demo aircraft from a due item to a released work
package: the planner ticks the item on the aircraft's due page and creates and opens the
package, the technician signs every step and the card on the tablet card page, the
inspector inspects a critical card and signs the release; the compliance shows."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command

from tests.test_browser import browser, login  # noqa: F401  (the module's Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _logout(page) -> None:
    page.click("header.top button.link")
    page.wait_for_selector("input[name=username]")


def _sign_every_step(page) -> None:
    """Sign the card's pending steps one by one, as the technician would on the tablet."""
    for _ in range(50):
        pending = page.locator("article.step.pending form button[type=submit]")
        if pending.count() == 0:
            return
        step = page.locator("article.step.pending").first
        kind = step.get_attribute("data-kind")
        if kind == "measure":
            lo, hi = step.get_attribute("data-min"), step.get_attribute("data-max")
            if hi is not None:
                # typing a value outside the limits warns before anything is signed
                field = step.locator("input[name=value]")
                field.fill(f"{float(hi) + 1:g}")
                assert "Outside the limits" in step.locator(".limit-warning").inner_text()
                assert field.get_attribute("aria-invalid") == "true"
            if lo is not None and hi is not None:
                value = (float(lo) + float(hi)) / 2
            else:
                value = float(lo if lo is not None else hi if hi is not None else 1)
            step.locator("input[name=value]").fill(f"{value:g}")
            assert step.locator(".limit-warning").inner_text() == ""
        elif kind == "remove":
            step.locator("select[name=removal_reason]").select_option("scheduled")
        elif kind == "install":
            options = step.locator("select[name=part] option")
            assert options.count() > 1, "no serviceable part in stores for the installation"
            step.locator("select[name=part]").select_option(index=1)
        with page.expect_navigation():
            step.locator("form button[type=submit]").first.click()
        assert page.locator("#error").count() == 0, page.locator("#error").inner_text()
    raise AssertionError("steps did not get signed")


def test_from_a_due_item_to_a_released_package_in_a_browser(live_server, browser, tmp_path):  # noqa: F811
    from kanat.fleet.models import Aircraft
    from kanat.maintenance.models import TaskRevision

    call_command("demo")
    shots = os.environ.get("KANAT_SCREENSHOT_DIR", str(tmp_path))
    aircraft = (
        Aircraft.objects.filter(operator__code="KZ-ADF", variant__aircraft_type__kind="aircraft")
        .order_by("serial")
        .first()
    )
    base = live_server.url
    page = browser.new_page(viewport={"width": 1024, "height": 1366})  # a tablet, upright

    # the planner ticks an aircraft task on the due page and creates the package
    login(page, base, "planner")
    page.goto(f"{base}/aircraft/{aircraft.pk}/due/?horizon=365")
    page.wait_for_selector("#due-form")
    # prefer a critical card with measured steps (the propeller's), else any free item
    boxes = page.locator("#due-form table.due input[name=item]")
    values = [boxes.nth(i).get_attribute("value") for i in range(boxes.count())]
    critical = set(TaskRevision.objects.filter(critical=True).values_list("task__code", flat=True))
    ranked = sorted(
        values, key=lambda v: (not v.startswith("61-10-02|"), v.split("|")[0] not in critical)
    )
    item = ranked[0]
    task_code = item.rsplit("|", 1)[0]
    page.check(f"#due-form input[name=item][value='{item}']")
    page.fill("input[name=title]", "Browser test package")
    page.screenshot(path=f"{shots}/due-page-with-choice.png", full_page=True)
    with page.expect_navigation():
        page.click("#create-package")
    assert re.search(r"/work/packages/\d+/$", page.url), page.url
    package_url = page.url
    assert page.locator("#package-status").inner_text() == "Draft"
    assert page.locator("#cards").get_by_text(task_code).count() >= 1
    with page.expect_navigation():
        page.click("#open-package")
    assert page.locator("#package-status").inner_text() == "Open"
    page.goto(f"{base}/work/")
    assert page.locator("#column-open").get_by_text("Browser test package").count() == 1
    page.screenshot(path=f"{shots}/work-board.png", full_page=True)
    page.goto(f"{base}/work/defects/")
    assert page.locator("#defects .clock").count() >= 1
    page.screenshot(path=f"{shots}/defects.png", full_page=True)
    _logout(page)

    # the technician signs every step and the card on the tablet card page
    login(page, base, "technician")
    page.goto(package_url)
    page.locator("#cards a.button", has_text="Open card").first.click()
    page.wait_for_selector("#steps")
    card_url = page.url
    sign_button = page.locator("article.step.pending button").first
    box_size = sign_button.bounding_box()
    assert box_size is not None and box_size["height"] >= 48  # a gloved finger's target
    _sign_every_step(page)
    with page.expect_navigation():
        page.click("#sign-card")
    assert page.locator("#error").count() == 0
    page.screenshot(path=f"{shots}/task-card.png", full_page=True)
    critical = page.locator("#card-status").inner_text() == "Signed"
    _logout(page)

    # the inspector inspects a critical card, then signs the release
    login(page, base, "inspector")
    if critical:
        page.goto(card_url)
        with page.expect_navigation():
            page.click("#inspect-card")
        assert page.locator("#card-status").inner_text() == "Done"
    page.goto(package_url)
    assert page.locator("#package-status").inner_text() == "Completed"
    page.fill("textarea[name=statement]", "Released by the browser test")
    with page.expect_navigation():
        page.click("#sign-release")
    assert page.locator("#error").count() == 0
    assert page.locator("#package-status").inner_text() == "Released"
    assert page.locator("#release-record").get_by_text("Released by the browser test").is_visible()
    assert page.locator("#compliances").get_by_text(task_code).count() == 1
    page.screenshot(path=f"{shots}/released-package.png", full_page=True)

    # the due item's compliance shows on the aircraft's due page, explaining its new date
    record = page.locator("#compliances td.record").first.inner_text()
    page.goto(f"{base}/aircraft/{aircraft.pk}/due/")
    page.wait_for_selector("table.due")
    assert f"Last compliance: record {record} done" in page.content()
    page.close()
