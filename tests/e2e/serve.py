"""The app as the browser tests run it: `python tests/e2e/serve.py CONTROL_PORT ARGS...` is
`streamlit ARGS...` plus a control line on 127.0.0.1:CONTROL_PORT, so one server can serve many
tests. A test's `app_server` fixture first puts a fresh database in place (tests/e2e/conftest.py)
and then sends `reset`: the server closes the sessions of the browsers earlier tests used
and forgets what it cached (st.cache_data, st.cache_resource), as a newly started process would,
and answers `ok` once done."""

from __future__ import annotations

import socketserver
import sys
import threading

SESSIONS_GONE_S = 10  # earlier tests' browser contexts are closed; their sockets drop at once


def _reset() -> str:
    import streamlit as st
    from streamlit.runtime import Runtime

    manager = Runtime.instance()._session_mgr  # noqa: SLF001 - no public way to list sessions
    gone = threading.Event()
    for _ in range(SESSIONS_GONE_S * 20):
        if manager.num_active_sessions() == 0 or gone.wait(0.05):
            break
    for info in manager.list_sessions():  # disconnected ones: stop their scripts and forget them
        manager.close_session(info.session.id)
    st.cache_data.clear()
    st.cache_resource.clear()
    return "ok" if manager.num_active_sessions() == 0 else f"busy: {manager.num_active_sessions()} sessions open"


class _Control(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            command = line.decode().strip()
            answer = _reset() if command == "reset" else f"unknown command {command!r}"
            self.wfile.write(f"{answer}\n".encode())


def main() -> None:
    port, args = int(sys.argv[1]), sys.argv[2:]
    control = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Control)
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, name="e2e-control", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *args]
    cli.main()


if __name__ == "__main__":
    main()
