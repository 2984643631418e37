"""The tests' own HTTP servers (the Calendar emulator, the mail API, the webhook receiver) run
from a daemon thread and stop at once."""

from __future__ import annotations

import threading
from socketserver import BaseServer

# How often serve_forever looks for shutdown(). Its default, half a second, made every test that
# stops a server wait up to that long in its teardown (42 tests at 0.45-0.5 s in one run).
POLL_S = 0.02


def serve_in_thread(server: BaseServer) -> None:
    threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True).start()
