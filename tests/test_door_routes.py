"""The door's plain POST routes (RFC 8058 one-click unsubscribe needs one) on Streamlit's own
Starlette server: `streamlit run` of an st.App entry with a route registered through
pages/door_routes.py answers a real HTTP POST beside the app, 400 with the refusal's sentence
while the door is closed, 429 over the rate, and the Streamlit app itself still serves; the
RFC 8058 one-click unsubscribe posted to a real email's List-Unsubscribe URL opts out, door off or on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from core.base.config import ROOT
from core.base.db import read_session
from core.base.models import AuditLog
from core.notifications.models import NotificationOptOut
from core.security import door
from core.security.links import INVALID, LinkError
from tests.factories import world
from tests.mail_servers import unsubscribe_header

ENTRY = """
import streamlit as st
from core.security import door
from pages.door_routes import post_route, routes
post_route("/door-probe", lambda form, client: door.enter(client, honeypot=form.get("website")))
app = st.App({app!r}, routes=routes())
"""


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def server(sqlite_db, tmp_path):
    entry = tmp_path / "serve_probe.py"
    entry.write_text(ENTRY.format(app=str(ROOT / "app.py")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": sqlite_db.url, "AUTH_COOKIE_KEY": os.environ["AUTH_COOKIE_KEY"],  # the links' key too "DEMO_MODE": "0",
           "PYTHONPATH": str(ROOT), "DOOR_REQUESTS_PER_MINUTE": "2", "APP_SECRETS_FILE": str(tmp_path / "none.toml"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    waiter = threading.Event()
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "streamlit exited"
                waiter.wait(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_door_post_route_answers_beside_the_app(server):
    w = world()
    assert _post(f"{server}/door-probe", b"List-Unsubscribe=One-Click") == (400, door.CLOSED)
    door.set_open(w.actors["admin"], True)
    assert _post(f"{server}/door-probe", b"List-Unsubscribe=One-Click") == (200, "OK")
    assert _post(f"{server}/door-probe", b"website=http://spam.example")[0] == 400
    assert _post(f"{server}/door-probe", b"List-Unsubscribe=One-Click") == (429, door.TOO_MANY)
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=10) as response:
        assert response.status == 200


def _customer_opted_out(customer_id: int) -> bool:
    with read_session() as s:
        return s.get(NotificationOptOut, (customer_id, "email")) is not None


def test_one_click_unsubscribe_posts_like_a_mail_client_even_while_the_door_is_off(server, monkeypatch):
    w = world()
    assert not door.is_open()  # an opt-out from an email already sent works whatever the switch says
    url = unsubscribe_header(monkeypatch, w, server)
    ada = w.customers["ada"].id
    spoiled = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert _post(spoiled, b"List-Unsubscribe=One-Click") == (400, LinkError(INVALID).args[0])
    assert not _customer_opted_out(ada)  # a tampered link writes nothing
    assert _post(url, b"")[0] == 400  # not a one-click body: nothing done
    assert not _customer_opted_out(ada)
    for _ in range(3):  # past the door's rate of 2 a minute: the opt-out is not rate limited
        assert _post(url, b"List-Unsubscribe=One-Click") == (200, "OK")
    assert _customer_opted_out(ada)
    with read_session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "customer.unsubscribe")).one()
        assert entry.actor_username == "public" and entry.after["client_address"] == "127.0.0.1"
