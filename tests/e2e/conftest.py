"""Browser tests: the real app (`streamlit run app.py`) on a fresh SQLite database, driven by
headless Chromium through Playwright.

Fixtures: `app_server` (the running app: `.url`, `.db_url`, `.seed(fn)`; opened once before the
test unless it is marked `cold_start`), `browser` (one
Chromium per test session) and `page` (a fresh browser context, so fresh cookies, per test).
Screenshots go to test-artifacts/; a failing test leaves one named after it."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.base.config import ROOT, reset_settings
from core.base.db import dispose_engines

ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT_S = 60
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class AppServer:
    url: str
    db_url: str
    cookie_key: str
    log_path: Path
    _monkeypatch: pytest.MonkeyPatch = field(repr=False)

    def seed(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` against the app's database from the test process (e.g. factories.world)."""
        self._monkeypatch.setenv("DATABASE_URL", self.db_url)
        reset_settings()
        dispose_engines()
        return fn()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# Marks when Streamlit last started or ended a run, so a wait can ask for a quiet moment.
RUN_WATCH = """
window.__stLastChange = Date.now();
new MutationObserver(() => { window.__stLastChange = Date.now(); })
    .observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""
QUIET_MS = 1000
COOKIE_MANAGER = "iframe[title*='cookie_manager']"


def new_context(browser, **options):
    """A browser context (fresh cookies) whose pages report Streamlit's runs to `wait_for_app`."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    context.add_init_script(RUN_WATCH)
    return context


def _warm_up(browser, url: str) -> None:
    """Open the app once and let its first run finish. A fresh Streamlit process starts its first
    session in its legacy pages/ directory mode and switches to the app's own navigation during
    that session's first runs; a form submitted in that moment is lost (seen: a sign-in that
    neither signed in nor answered). A person reloads; a test starts after it instead."""
    from playwright.sync_api import Error as PlaywrightError

    context = new_context(browser)
    context.set_default_timeout(START_TIMEOUT_S * 1000 / 2)
    try:
        page = context.new_page()
        for _ in range(2):  # once seen: a first session that drew nothing until reloaded
            try:
                page.goto(url)
                page.get_by_role("button", name="Sign in", exact=True).wait_for()
                wait_for_app(page)
                return
            except PlaywrightError:
                continue
    finally:
        context.close()


@pytest.fixture
def app_server(tmp_path, monkeypatch, request, _sqlite_template, browser) -> Iterator[AppServer]:
    db_path = tmp_path / "e2e.db"
    shutil.copyfile(_sqlite_template, db_path)
    db_url = f"sqlite:///{db_path}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cookie_key = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "AUTH_COOKIE_KEY": cookie_key,
        "DEMO_MODE": "0",
        "APP_SECRETS_FILE": str(tmp_path / "no-secrets.toml"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log_path = tmp_path / "streamlit.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(url, db_url, cookie_key, log_path, monkeypatch)
    try:
        waiter = threading.Event()
        for _ in range(START_TIMEOUT_S * 10):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{server.log()[-3000:]}")
            if _healthy(url):
                break
            waiter.wait(0.1)
        else:
            pytest.fail(f"streamlit did not answer {url}/_stcore/health within {START_TIMEOUT_S}s:\n{server.log()}")
        server.seed(lambda: None)
        if request.node.get_closest_marker("cold_start") is None:
            _warm_up(browser, url)
        yield server
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(f"--- streamlit log ({log_path}) ---\n{server.log()[-6000:]}")
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        dispose_engines()
        reset_settings()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser, request):
    context = new_context(browser)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        screenshot(pg, f"FAILED-{request.node.name}")
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished its runs: no "running" indicator, and none started for
    QUIET_MS. The sign-in library's cookie manager reports the browser's cookies once it is
    drawn, which starts one more run a moment after the first; a click in between can be lost
    (a person never clicks that fast; a test does)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached")
    frame = page.query_selector(COOKIE_MANAGER)
    content = frame.content_frame() if frame is not None else None
    if content is not None:
        content.wait_for_load_state("load")
    page.wait_for_function(
        f"""() => document.querySelector("[data-testid='stApp']")?.getAttribute('data-test-script-state')
                 === 'notRunning' && (window.__stLastChange === undefined
                 || Date.now() - window.__stLastChange > {QUIET_MS})"""
    )


def sign_in(page, base_url: str | None, username: str, password: str, *, expect_success: bool = True) -> None:
    """Sign in through the form. With `base_url`, open it first; otherwise use the page as is
    (e.g. a deep link showing the sign-in form)."""
    if base_url is not None:
        page.goto(base_url)
        wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if expect_success:
        page.get_by_text("Signed in as").wait_for()
        wait_for_auth_cookie(page)
    wait_for_app(page)


def wait_for_auth_cookie(page, name: str = "apptops_auth") -> None:
    """The sign-in cookie is written by a small component once the browser has drawn it; a
    refresh before that would find no cookie, so tests wait for it like a person would."""
    page.wait_for_function(f"() => document.cookie.split('; ').some(c => c.startsWith('{name}='))")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items) -> None:
    """Every browser test is marked e2e (make test runs them after the rest, alone) and, when run
    under xdist anyway, grouped on one worker: each drives a Streamlit server and a Chromium, and
    two of those at once, or beside the rest of the suite, on two cores make waits flaky."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("browser"))
