"""The ops dashboard in headless Chromium (Debian's, driven by Playwright) over the live app.

A run appears on the runs page and changes stage without a reload; its page shows the stage timeline,
the events, the validation summary, the loss curve, the smoke results and links to the reports, and its
Approve button moves the run on; data that looks like HTML stays text. Screenshots go to `artifacts/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from shared.events import EventType, build_event
from tests.fixtures.dashboard import LiveDashboard
from tests.unit.pipeline.conftest import chat_dataset

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
WAIT_MS = 60_000


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile (`make setup` installs Debian's chromium)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        try:
            yield context
        finally:
            context.close()


def test_a_run_goes_live_through_the_runs_page_and_its_run_page(
    live_dashboard: LiveDashboard, browser: BrowserContext
) -> None:
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: _keep_errors(message, console_errors))
    page.on("pageerror", lambda error: console_errors.append(str(error)))

    page.goto(live_dashboard.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#live")).to_have_class("live ok")

    # A run that waits for approval: the page shows it appear, then reach that stage, without reloading.
    live_dashboard.upload("xbox/support.jsonl", chat_dataset())
    run_id = live_dashboard.start_run("xbox/support.jsonl", require_approval=True, epochs=2)
    row = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-stage", "awaiting_approval")
    expect(row.locator(".family")).to_have_text("xbox")

    # Filters go to the API: another state hides the run, its own shows it again.
    page.select_option("#filter-state", "failed")
    expect(row).to_have_count(0)
    page.select_option("#filter-state", "awaiting_approval")
    expect(row).to_be_visible()
    page.fill("#filter-family", "other-family")
    expect(row).to_have_count(0)
    page.fill("#filter-family", "xbox")
    expect(row).to_be_visible()
    page.select_option("#filter-state", "")

    # Its run page, live while the run waits: the loss so far comes from the training events.
    hostile = build_event(
        run_id, EventType.TRAINING_STATUS_CHANGED, 90, state=HOSTILE, time=datetime.now(UTC), data={"note": HOSTILE}
    )
    live_dashboard.events.add([hostile])  # untrusted data (an event's facts) must stay text
    row.locator("a.run-link").click()
    page.wait_for_url(f"**/runs/{run_id}")
    expect(page.locator("#overview .badge")).to_have_text("awaiting approval")
    expect(page.locator('#timeline .stage-row[data-stage="awaiting_approval"] rect.bar.running')).to_have_count(1)
    expect(page.locator("#loss")).to_contain_text("from training events (so far)")
    expect(page.locator('#events tr[data-event-type="finetune.approval.requested"]')).to_have_count(1)
    expect(page.locator("#reports").get_by_role("link", name="smoke-report.json")).to_have_count(1)
    expect(page.locator("#reports").get_by_role("link", name="report.html", exact=True)).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "dashboard-running.png"), full_page=True)

    # Approved with the page's own button: the page follows the run to its end without a reload.
    expect(page.locator("#commands button")).to_have_text(["Approve", "Reject", "Cancel run"])
    page.locator('#commands button[data-command="approve"]').click()
    expect(page.locator("#command-result")).to_have_text(f"approve sent to {run_id}")
    expect(page.locator("#overview .badge")).to_have_text("succeeded")
    expect(page.locator("#commands button")).to_have_text(["Retry"])
    _check_run_page(page, run_id)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.go_back()
    expect(row).to_have_attribute("data-stage", "succeeded")
    expect(row.locator(".state .badge")).to_have_text("succeeded")
    page.screenshot(path=str(ARTIFACTS / "dashboard-runs.png"), full_page=True)

    report = page.request.get(live_dashboard.url + f"/reports/{run_id}/report.html")
    assert report.status == 200
    assert report.headers["content-security-policy"].startswith("sandbox;")
    assert page.evaluate("window.__pwned") is None
    assert console_errors == []


def _check_run_page(page: Page, run_id: str) -> None:
    expect(page.locator("#run-id")).to_have_text(run_id)
    stages = page.locator("#timeline svg .stage-row")
    expect(stages.first).to_have_attribute("data-stage", "validating")
    expect(page.locator('#timeline .stage-row[data-stage="awaiting_approval"]')).to_have_count(1)
    expect(page.locator('#timeline .stage-row[data-stage="cleaning_up"]')).to_have_count(1)
    events = page.locator("#events tbody tr")
    expect(events.first).to_have_attribute("data-event-type", "finetune.run.accepted")
    expect(page.locator('#events tr[data-event-type="finetune.approval.granted"]')).to_have_count(1)
    expect(page.locator('#events tr[data-event-type="finetune.run.succeeded"]')).to_have_count(1)
    hostile_row = page.locator("#events tbody tr", has_text="window.__pwned=1")
    expect(hostile_row).to_have_count(1)
    expect(hostile_row.locator(".message")).to_contain_text(HOSTILE)
    expect(page.locator("#events img, #events script")).to_have_count(0)
    expect(page.locator("#loss svg polyline.series.train")).to_have_count(1)
    expect(page.locator("#loss svg polyline.series.validation")).to_have_count(1)
    expect(page.locator("#loss")).to_contain_text("from the run summary")
    expect(page.locator("#validation")).to_contain_text("30")
    expect(page.locator("#validation .badge")).to_have_text("passed")
    expect(page.locator("#smoke table.probes tbody tr").first).to_be_visible()
    expect(page.locator("#overview")).to_contain_text("succeeded")
    reports = page.locator("#reports")
    expect(reports.get_by_role("link", name="report.html", exact=True)).to_have_attribute(
        "href", f"/reports/{run_id}/report.html"
    )
    expect(reports.get_by_role("link", name="summary.json", exact=True)).to_have_count(1)


def _keep_errors(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(message.text)
