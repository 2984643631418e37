"""Browser tests: the real app (`streamlit run app.py`) on a SQLite database, driven by headless
Chromium through Playwright.

Fixtures:
- `app_server`: the running app (`.url`, `.db_url`, `.cookie_key`, `.seed(fn)`, `.log()`). One
  server is started per test session and shared: before each test it gets a fresh database (the
  migrated template, copied in place) and forgets the earlier tests' sessions and caches
  (tests/e2e/serve.py), so every test starts as on a newly started app, without paying for the
  start (about 5 s) and the warm-up. Seed what the test needs with `app_server.seed(fn)` (e.g.
  `app_server.seed(world)`): it runs `fn` in the test process against the app's database.
  - A test that needs the app started with other environment variables says so with
    `@pytest.mark.app_env(NAME="value")`: it gets a server of its own, started with them and
    shared with the other tests asking for the same (environment set with monkeypatch does not
    reach a shared server).
  - A test that must be the first session of a freshly started process is marked `cold_start`:
    it gets a new server, stopped after it.
- `browser`: one Chromium per test session.
- `page`: the session's one tab, handed to each test as a newly opened one would be (blank, no
  cookies, no stored data, the default size and timeout, no other tabs); `other_page` the same
  for a second person, in a browser context of its own. One tab each, not one per test: a new
  tab is a new renderer process, which compiles Streamlit's scripts again (about 2.5 s of CPU
  for the first page and sign-in, against 1 s in a tab that has run them). Pages report
  Streamlit's runs (RunWatch, from its websocket messages) so `wait_for_app(page)` waits for
  them to end; `new_context(browser)` gives a context whose pages do too.
Screenshots go to test-artifacts/; a failing test leaves one named after it, and prints its part
of the server's log."""

from __future__ import annotations

import collections
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from sqlalchemy import select

from core.base.config import ROOT, reset_settings
from core.base.db import dispose_engines, read_session
from core.base.models import User
from core.security import auth

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

VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a phone's width, for the customer-facing pages
PAGE_TIMEOUT_MS = 20_000
# What a site may keep in the browser besides cookies (Streamlit keeps e.g. the sidebar's
# "View more" state in localStorage), as Chrome's DevTools protocol names them; local_storage
# clears the tab's sessionStorage too (tests/e2e/test_tab_e2e.py checks both).
SITE_DATA = "local_storage,indexeddb,cache_storage,service_workers,file_systems,websql"


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
    """What a test sees of the app it drives: its URL, its database and its cookie key."""

    url: str
    db_url: str
    cookie_key: str
    log_path: Path
    _monkeypatch: pytest.MonkeyPatch = field(repr=False)
    _log_from: int = 0  # where this test's part of a shared server's log starts

    def seed(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` against the app's database from the test process (e.g. factories.world)."""
        self._monkeypatch.setenv("DATABASE_URL", self.db_url)
        reset_settings()
        dispose_engines()
        return fn()

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_from)
            return log.read().decode(errors="replace")


class _Process:
    """One `streamlit run app.py` (through tests/e2e/serve.py) on its own SQLite file."""

    def __init__(self, folder: Path, template: Path, env: dict[str, str]) -> None:
        self.db_path, self.template = folder / "e2e.db", template
        shutil.copyfile(template, self.db_path)
        self.db_url = f"sqlite:///{self.db_path}"
        port, self.control_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.cookie_key = secrets.token_urlsafe(48)
        self.log_path = folder / "streamlit.log"
        full_env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "AUTH_COOKIE_KEY": self.cookie_key,
            "DEMO_MODE": "0",
            "APP_SECRETS_FILE": str(folder / "no-secrets.toml"),
            "INTAKE_UPLOADS_DIR": str(folder / "uploads"),  # not the checkout's data/uploads
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            **env,
        }
        cmd = [
            sys.executable, str(Path(__file__).with_name("serve.py")), str(self.control_port),
            "run", str(ROOT / "app.py"),
            "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        self._control: socket.socket | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_healthy(self) -> None:
        waiter = threading.Event()
        for _ in range(START_TIMEOUT_S * 10):
            if self.proc.poll() is not None:
                pytest.fail(f"streamlit exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            if _healthy(self.url):
                return
            waiter.wait(0.1)
        pytest.fail(f"streamlit did not answer {self.url}/_stcore/health within {START_TIMEOUT_S}s:\n{self.log()}")

    def reset(self) -> None:
        """A fresh database (the migrated template, copied in place through SQLite's backup, so
        the server's open connections see it) and a server that has forgotten earlier tests'
        sessions and caches."""
        dispose_engines()
        with closing(sqlite3.connect(self.template)) as src, closing(sqlite3.connect(self.db_path, timeout=30)) as dst:
            src.backup(dst)
        if self._control is None:
            self._control = socket.create_connection(("127.0.0.1", self.control_port), timeout=START_TIMEOUT_S)
            self._answers = self._control.makefile("r")
        self._control.sendall(b"reset\n")
        answer = self._answers.readline().strip()
        if answer != "ok":
            pytest.fail(f"the shared app server could not be reset: {answer or 'no answer'}")

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


WAIT_S = 60  # a fresh process's first runs, on a loaded machine, take tens of seconds
# After the last run ends, how long no message may pass either way before the app counts as idle.
# The cookie components' own reruns are waited for by id (`RunWatch.unreported`): this is only a
# margin for what else a drawn page may send.
SETTLE_S = 0.1
# The sign-in library's cookie components: each reports to the app once the browser has drawn it,
# which asks for one more run.
COOKIE_COMPONENT = "cookie_manager"
_HEARTBEATS = {"app_heartbeat", "heartbeat_ack"}


class RunWatch:
    """Streamlit's runs as its own messages on a page's websocket say: each rerun the page asks
    for (BackMsg rerun_script), each run's start (ForwardMsg new_session) and end (script_finished;
    FINISHED_EARLY_FOR_RERUN means another run follows). Sync Playwright hands these over only
    while one of its calls is in progress, so `wait_for_app` polls with short page waits."""

    def __init__(self, page) -> None:
        self.ws = None
        self.started_at = time.monotonic()
        self.log: collections.deque[str] = collections.deque(maxlen=60)  # printed when a test fails
        page.on("websocket", self._connected)
        self._reset()

    def restart(self) -> None:
        """Forget the earlier test's session and messages (the session's tab, handed on)."""
        self.ws = None
        self.log.clear()
        self.started_at = time.monotonic()
        self._reset()

    def _reset(self) -> None:
        self.seq = self.asked = self.started = self.finished = 0
        self.reported: set[str] = set()  # the widget ids the page's reruns have carried
        self.drawing: set[str] = set()  # the cookie components the current run has sent
        self.drawn: set[str] = set()  # ... and the last run that ended
        self.last_message = time.monotonic()

    def _connected(self, ws) -> None:
        if not ws.url.endswith("/_stcore/stream"):
            return
        self.ws = ws  # a reload or a new address opens a new session: earlier runs do not count
        self._reset()
        self.note(f"websocket {ws.url}")
        ws.on("framesent", lambda payload: self._sent(ws, payload))
        ws.on("framereceived", lambda payload: self._received(ws, payload))

    def _kind(self, ws, payload, message) -> str | None:
        if ws is not self.ws or isinstance(payload, str):
            return None
        try:
            message.ParseFromString(payload)
        except DecodeError:  # not one of Streamlit's messages
            return None
        kind = message.WhichOneof("type")
        if kind not in _HEARTBEATS:
            self.seq += 1
            self.last_message = time.monotonic()
        return kind

    def _sent(self, ws, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        if self._kind(ws, payload, msg) == "rerun_script":
            self.asked = self.seq
            ids = [w.id for w in msg.rerun_script.widget_states.widgets]
            self.reported.update(ids)
            keys = sorted({i.rsplit("-", 1)[-1] for i in ids})
            self.note(f"asked for a run (message {self.seq}; page {msg.rerun_script.page_name!r}; keys {keys})")

    def _received(self, ws, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        kind = self._kind(ws, payload, msg)
        if kind == "new_session":
            self.started, self.drawing = self.seq, set()
            self.note(f"run started (message {self.seq}; page {msg.new_session.page_script_hash[:8]})")
        elif kind == "script_finished":
            self.note(f"run ended (message {self.seq}; {ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)})")
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.finished = self.seq
                if msg.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    self.drawn = self.drawing
        elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "component_instance":
            component = msg.delta.new_element.component_instance
            if COOKIE_COMPONENT in component.component_name:
                self.drawing.add(component.id)

    def pending(self) -> str | None:
        """What the app is still doing, or None once the last run asked for has started and ended
        and no message has passed for SETTLE_S."""
        if self.ws is None or self.ws.is_closed():  # e.g. right after a goto, before the app connects
            return "the page has no open session"
        if not self.asked:
            return "the page has not asked for a run yet"
        if self.started < self.asked:
            return f"the run asked for (message {self.asked}) has not started"
        if self.finished < self.started:
            return f"the run started (message {self.started}) has not finished"
        if time.monotonic() - self.last_message < SETTLE_S:
            return "messages are still passing"
        return None

    def note(self, what: str) -> None:
        self.log.append(f"{time.monotonic() - self.started_at:8.3f} {what}")

    def unreported(self) -> list[str]:
        """The cookie components the last run drew that no rerun of this session has carried a
        value of yet (by the app's messages, not the page: the browser may not have drawn them)."""
        return sorted(self.drawn - self.reported)


_WATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _watch(page) -> None:
    _WATCHES[page] = RunWatch(page)


def new_context(browser, **options):
    """A browser context (fresh cookies) whose pages report Streamlit's runs to `wait_for_app`."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.on("page", _watch)
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


def _env_of(request) -> dict[str, str]:
    marker = request.node.get_closest_marker("app_env")
    return {k: str(v) for k, v in sorted(marker.kwargs.items())} if marker else {}


@pytest.fixture(scope="session")
def _shared_servers() -> Iterator[dict[tuple, _Process]]:
    """The session's app servers, one per environment asked for (`app_env`), kept until the end."""
    servers: dict[tuple, _Process] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def app_server(
    request, monkeypatch, tmp_path_factory, _sqlite_template, browser, _shared_servers
) -> Iterator[AppServer]:
    cold = request.node.get_closest_marker("cold_start") is not None
    env = _env_of(request)
    key = tuple(env.items())
    process = None if cold else _shared_servers.get(key)
    if process is not None and process.proc.poll() is not None:  # it died during an earlier test
        print(f"--- the shared app server had exited ({process.proc.returncode}); starting another ---")
        process = None
    if process is None:
        process = _Process(tmp_path_factory.mktemp("app"), _sqlite_template, env)
        if not cold:
            _shared_servers[key] = process
        try:
            process.wait_healthy()
            if not cold:
                _warm_up(browser, process.url)
        except BaseException:
            _shared_servers.pop(key, None)
            process.stop()
            raise
    if not cold:
        process.reset()
    server = AppServer(process.url, process.db_url, process.cookie_key, process.log_path, monkeypatch,
                       process.log_path.stat().st_size)  # fmt: skip
    try:
        server.seed(lambda: None)
        yield server
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(f"--- streamlit log ({process.log_path}) ---\n{server.log()[-6000:]}")
        if cold:
            process.stop()
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


class _Tab:
    """One of the session's tabs, in a browser context of its own, and every site it has opened
    since it was last wiped."""

    def __init__(self, browser, name: str) -> None:
        self.browser, self.name, self.origins = browser, name, set()
        self.context = new_context(browser)
        self.open()

    def open(self) -> None:
        self.page = self.context.new_page()
        self.page.on("framenavigated", self._opened)

    def renew(self) -> None:
        """A new context and tab, for one a failed test left unusable."""
        from playwright.sync_api import Error as PlaywrightError

        with suppress(PlaywrightError):
            self.context.close()
        self.context, self.origins = new_context(self.browser), set()
        self.open()

    def _opened(self, frame) -> None:
        if frame.url.startswith("http"):
            self.origins.add(re.match(r"https?://[^/]+", frame.url).group(0))


@pytest.fixture(scope="session")
def _tabs(browser) -> Iterator[list[_Tab]]:
    """The session's tabs, one per person a test plays."""
    tabs = [_Tab(browser, "page"), _Tab(browser, "other_page")]
    yield tabs
    for tab in tabs:
        tab.context.close()


def _wipe(tab: _Tab) -> None:
    """The tab as a newly opened one: blank, no other tabs, no cookies or site data, the default
    size and timeout, and its run watch forgetting the earlier session. A test that closed the
    tab gets a new one; one a failed test left unusable is replaced with its context."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        if tab.page.is_closed():
            tab.open()
        context, page = tab.context, tab.page
        for other in context.pages:
            if other is not page:
                other.close()
        page.goto("about:blank")  # the app's session ends here: its websocket closes
        context.clear_cookies()
        cdp = context.new_cdp_session(page)
        for origin in sorted(tab.origins):
            cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": SITE_DATA})
        cdp.detach()
        tab.origins.clear()
    except PlaywrightError as exc:
        print(f"--- the tab {tab.name} could not be wiped ({exc}); a new one replaces it ---")
        tab.renew()
    tab.page.set_viewport_size(VIEWPORT)
    tab.context.set_default_timeout(PAGE_TIMEOUT_MS)
    _WATCHES[tab.page].restart()


def _hand_over(tab: _Tab, request) -> Iterator:
    _wipe(tab)
    yield tab.page
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed and not tab.page.is_closed():
        suffix = "" if tab.name == "page" else f"-{tab.name}"
        screenshot(tab.page, f"FAILED-{request.node.name}{suffix}")
        print(f"--- {tab.name}'s websocket, last messages ---\n" + "\n".join(_WATCHES[tab.page].log))
    _wipe(tab)  # before the next test's server reset: no session of this test is left open


@pytest.fixture
def page(_tabs, request):
    yield from _hand_over(_tabs[0], request)


@pytest.fixture
def other_page(_tabs, request):
    """A second person's tab (another desk, a customer, someone holding a copied cookie)."""
    yield from _hand_over(_tabs[1], request)


def on_a_phone(page):
    """`page` at a phone's width, with the longer timeout a customer-facing page gets here."""
    page.set_viewport_size(PHONE)
    page.context.set_default_timeout(30_000)
    return page


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished its runs, by its own messages (RunWatch): the last run the
    page asked for has started and ended, every cookie component on the page has reported (the
    sign-in library's cookie manager reports the browser's cookies once it is drawn, which asks
    for one more run a moment after the first; a click in between can be lost: a person never
    clicks that fast, a test does), nothing passed for SETTLE_S since, and the page shows the run
    state "notRunning". Elements of the run before may still be on screen for a moment: wait for
    the one you need."""
    watch = _WATCHES[page]
    deadline = time.monotonic() + WAIT_S
    while True:
        page.wait_for_timeout(20)
        waiting = watch.pending()
        if waiting is None:
            seq = watch.seq
            # The whole wait's time left: a renderer busy drawing a chart can take seconds to answer.
            left_ms = max(1000.0, (deadline - time.monotonic()) * 1000)
            state = page.get_attribute("[data-testid='stApp']", "data-test-script-state", timeout=left_ms)
            waiting = watch.pending() or (None if watch.seq == seq else "messages are still passing")
            if waiting is None and (unreported := watch.unreported()):
                waiting = f"the cookie component {unreported[0].rsplit('-', 1)[-1]!r} has not reported yet"
            if waiting is None and state == "notRunning":
                watch.note("idle: wait_for_app returns")
                return
            waiting = waiting or f"the page shows the run state {state!r}"
        if time.monotonic() > deadline:
            pytest.fail(f"Streamlit did not finish its runs within {WAIT_S}s: {waiting}")


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


AUTH_COOKIE = "apptops_auth"


def add_sign_in_cookie(app_server: AppServer, context, username: str) -> None:
    """Put in `context` the sign-in cookie an earlier visit by `username` left: issued by the
    app's own code (a new sign-in of that user) under the server's key."""

    def issue() -> str:
        with read_session() as s:
            user_id = s.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            pytest.fail(f"no user {username!r} to sign in")
        return auth.issue_token(user_id, auth.CookieConfig(AUTH_COOKIE, app_server.cookie_key, 1))[0]

    token = app_server.seed(issue)
    context.add_cookies([{"name": AUTH_COOKIE, "value": token, "url": app_server.url, "sameSite": "Strict"}])


def sign_in_returning(page, app_server: AppServer, username: str, path: str = "") -> None:
    """Open `{app_server.url}/{path}` as `username` returning with an earlier visit's cookie: the
    app's real path for a returning user, for tests whose subject is not the sign-in form (the
    form is driven by `sign_in`, in tests/e2e/test_auth_e2e.py and where signing in is the point).
    Fails at once if the app shows the sign-in form instead."""
    add_sign_in_cookie(app_server, page.context, username)
    page.goto(f"{app_server.url}/{path}")
    signed_in = page.get_by_text("Signed in as")
    signed_in.or_(page.get_by_role("button", name="Sign in", exact=True)).first.wait_for()
    if signed_in.count() == 0:
        pytest.fail(f"the sign-in cookie of {username!r} did not sign in: the app shows the sign-in form")
    wait_for_app(page)


def wait_for_auth_cookie(page, name: str = AUTH_COOKIE) -> None:
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
