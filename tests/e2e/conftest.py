"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

- Playwright's sync API runs an asyncio event loop in the test thread, so Django's async-safety
  guard must be relaxed for ORM calls made from the tests (creating users, checking rows). The
  relaxation lasts only while the browser runs: left in os.environ it would leak into
  subprocesses of later tests (``check --deploy`` warns about it).
- No browser is ever downloaded: we launch the system Chromium. Without it the tests are skipped
  on a developer machine, but fail when ``CI`` is set, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("VALUELOOP_E2E_CHROMIUM", "/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = bool(os.environ.get("CI"))


def _missing_browser_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt install chromium, or set VALUELOOP_E2E_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (uv sync --group dev)"
    return None


MISSING = _missing_browser_reason()


def pytest_collection_modifyitems(config, items):
    if MISSING is None or IN_CI:
        return  # in CI a missing browser fails in the `browser` fixture instead of skipping
    skip = pytest.mark.skip(reason=f"e2e browser tests skipped: {MISSING}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    if MISSING is not None:
        pytest.fail(f"CI is set but the e2e browser is unavailable: {MISSING}", pytrace=False)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class BrowserErrors(list):
    """Console errors and uncaught exceptions of every page a test opened (CSP violations included).

    A test that provokes an error response on purpose (a form answered with 400) says so with
    ``allow_status(400)``; Chromium logs those as console errors too.
    """

    def __init__(self):
        super().__init__()
        self.allowed: list[str] = []

    def allow_status(self, status: int) -> None:
        self.allowed.append(f"Failed to load resource: the server responded with a status of {status} ")

    def _console(self, msg) -> None:
        if msg.type == "error" and not any(msg.text.startswith(prefix) for prefix in self.allowed):
            self.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    def watch(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.append(f"page error: {exc}"))
        return page


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def no_browser_errors(browser_errors):
    """Fails the test if any page it opened logged a console error or threw (modules opt in through
    ``pytest.mark.usefixtures("no_browser_errors")``)."""
    yield
    assert list(browser_errors) == [], "the browser reported errors:\n" + "\n".join(browser_errors)


def error_of(page, field):
    """The message the field points at with aria-describedby (the error shown beside it)."""
    from playwright.sync_api import expect

    expect(field).to_have_attribute("aria-invalid", "true")
    return page.locator(f"#{field.get_attribute('aria-describedby')}")


_warmed_servers: set[str] = set()


@pytest.fixture
def warm_live_server(live_server, transactional_db):
    """Answer one request (per worker) before the first browser opens: the live server's first request imports
    the whole URLconf (seconds on a loaded machine), which would otherwise eat the first page's timeout.

    Function-scoped on purpose: it runs after pytest-django has unblocked the database for this test. As a
    session fixture it ran before that, and with the in-memory SQLite connection the live server shares with
    the test thread already open, the server's connection check hit the blocker and answered 500."""
    import urllib.request

    if live_server.url not in _warmed_servers:
        with urllib.request.urlopen(live_server.url + "/accounts/login/", timeout=120) as response:
            response.read()
        _warmed_servers.add(live_server.url)
    return live_server


@pytest.fixture
def new_page(browser, warm_live_server, browser_errors):
    live_server = warm_live_server
    """Open a fresh browser context (own cookies) at a viewport; closes them all at the end."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return browser_errors.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
