"""A Google Calendar v3 emulator: a real HTTP server on 127.0.0.1 that google-api-python-client
talks to exactly as it talks to Google (GOOGLE_CALENDAR_API_ENDPOINT = `emulator.endpoint`).

Implements events list / get / insert / patch / update / delete with Google's semantics:
- list: pageToken paging (maxResults, default 250), syncToken incremental sync (changed and
  deleted events since the token; an unknown or expired token is 410 fullSyncRequired; timeMin,
  timeMax with a syncToken is 400), showDeleted, singleEvents (RRULE FREQ=DAILY|WEEKLY with
  INTERVAL, COUNT, UNTIL expanded in the event's own time zone), timeMin/timeMax;
- insert with a client-supplied id (base32hex, 5-1024 chars; an existing id, even deleted, is 409);
- patch / update / delete honour If-Match (412 when the ETag is stale); delete of a deleted
  event is 410, of an unknown one 404. Every write gives the event a new ETag.

Faults: `fault_rate` (share of requests) with `fault_kinds` drawn by a seeded RNG, or
`fail_next(kind, ...)` for exact scripts. Kinds: 429, 500, 503, "403rate" (rate-limit 403),
"drop" (connection closed without a response), "commit500" / "commitdrop" (the write is done,
then the client gets a 500 or a dropped connection), 410 (a list with a syncToken is told to do a
full sync). `broken` holds calendar ids that answer 401 (an auth failure); `refuse(event_id,
status, reason, message)` makes every write of one event answer that error until `refused` is
cleared (a request Google will never accept, e.g. 400 invalid).

Run alone for a demo: `python -m tests.calendar_emulator --port 8765`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

from tests.serving import serve_in_thread

PREFIX = "/calendar/v3/calendars/"
ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
FAULT_KINDS = (429, 500, 503, "403rate", "drop", "commit500", "commitdrop", 410)


class EmulatorError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def parse_time(value: dict, tz: str = "UTC") -> datetime:
    """An event time ({"dateTime"} or {"date"}) as an aware UTC instant."""
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).astimezone(UTC)
    day = date.fromisoformat(value["date"])
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Calendar:
    def __init__(self, calendar_id: str, tz: str = "UTC"):
        self.id, self.tz = calendar_id, tz
        self.events: dict[str, dict] = {}
        self.min_token = 0  # sync tokens below this are expired (410)


class CalendarEmulator:
    def __init__(self, *, seed: int = 1):
        self.calendars: dict[str, Calendar] = {}
        self.lock = threading.RLock()
        self.seq = 0
        self.rng = random.Random(seed)
        self.fault_rate = 0.0
        self.fault_kinds: tuple = FAULT_KINDS
        self.scripted: list = []
        self.broken: set[str] = set()
        self.refused: dict[str, tuple[int, str, str]] = {}  # event id -> (status, reason, message) for writes
        self.requests: list[tuple[str, str, str]] = []  # (method, calendar id, what)
        self.faults: Counter = Counter()
        self.in_flight: Counter = Counter()  # requests being served now, per calendar
        self.max_in_flight: Counter = Counter()
        # Hold the response to the N-th successful write (after it is committed) until `release`.
        self.hold_after_writes: int | None = None
        self.holding, self.release = threading.Event(), threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- server ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> CalendarEmulator:
        emulator = self

        class Handler(_Handler):
            emu = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/calendar/v3/"

    # -- what tests do as "a person in Google Calendar" --------------------------------------

    def calendar(self, calendar_id: str, tz: str = "UTC") -> Calendar:
        with self.lock:
            return self.calendars.setdefault(calendar_id, Calendar(calendar_id, tz))

    def put_event(self, calendar_id: str, body: dict) -> dict:
        """Create an event as a Google user would (server-chosen id unless given)."""
        with self.lock:
            cal = self.calendar(calendar_id)
            body = dict(body)
            body.setdefault("id", f"g{self.seq + 1:08d}{self.rng.randrange(16**6):06x}")
            return dict(self._insert(cal, body))

    def edit_event(self, calendar_id: str, event_id: str, **changes) -> dict:
        with self.lock:
            ev = self.calendars[calendar_id].events[event_id]
            ev.update(changes)
            self._touch(ev)
            return dict(ev)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        with self.lock:
            ev = self.calendars[calendar_id].events[event_id]
            ev["status"] = "cancelled"
            self._touch(ev)

    def live_events(self, calendar_id: str) -> list[dict]:
        with self.lock:
            cal = self.calendars.get(calendar_id)
            return [dict(e) for e in (cal.events.values() if cal else ()) if e["status"] != "cancelled"]

    def expire_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self.calendar(calendar_id).min_token = self.seq + 1

    def refuse(
        self, event_id: str, status: int = 400, reason: str = "invalid", message: str = "Invalid value."
    ) -> None:
        with self.lock:
            self.refused[event_id] = (status, reason, message)

    def fail_next(self, *kinds) -> None:
        with self.lock:
            self.scripted.extend(kinds)

    def count(self, method: str | None = None, calendar_id: str | None = None, what: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for m, c, w in self.requests
                if (method is None or m == method)
                and (calendar_id is None or c == calendar_id)
                and (what is None or w == what)
            )

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()

    # -- the API ----------------------------------------------------------------------------

    def _touch(self, ev: dict) -> None:
        self.seq += 1
        ev["_seq"] = self.seq
        ev["etag"] = f'"{self.seq:016d}"'
        ev["updated"] = rfc3339(datetime.now(UTC))

    def _insert(self, cal: Calendar, body: dict) -> dict:
        event_id = body.get("id")
        if event_id is not None and not ID_RE.match(event_id):
            raise EmulatorError(400, "invalid", "Invalid resource id value.")
        if event_id in cal.events:
            raise EmulatorError(409, "duplicate", "The requested identifier already exists.")
        if event_id is None:
            event_id = f"s{self.seq + 1:010d}"
        ev = {k: v for k, v in body.items() if k not in ("etag", "updated", "kind")}
        ev.update(kind="calendar#event", id=event_id, status=body.get("status", "confirmed"))
        self._check_times(ev)
        cal.events[event_id] = ev
        self._touch(ev)
        return ev

    @staticmethod
    def _check_times(ev: dict) -> None:
        if "start" not in ev or "end" not in ev:
            raise EmulatorError(400, "required", "Missing start or end time.")
        if parse_time(ev["end"]) < parse_time(ev["start"]):
            raise EmulatorError(400, "timeRangeEmpty", "The specified time range is empty.")

    def _event(self, cal: Calendar, event_id: str) -> dict:
        ev = cal.events.get(event_id)
        if ev is None:
            raise EmulatorError(404, "notFound", "Not Found")
        return ev

    @staticmethod
    def _if_match(ev: dict, headers) -> None:
        want = headers.get("If-Match")
        if want and want != "*" and want != ev["etag"]:
            raise EmulatorError(412, "conditionNotMet", "Precondition Failed")

    def handle(self, method: str, path: str, query: dict, headers, body: dict | None) -> tuple[int, dict | None]:
        parts = path[len(PREFIX) :].split("/")
        if len(parts) < 2 or parts[1] != "events":
            raise EmulatorError(404, "notFound", "Not Found")
        cal_id = unquote(parts[0])
        if cal_id in self.broken:
            raise EmulatorError(401, "authError", "Invalid Credentials")
        cal = self.calendar(cal_id)
        event_id = unquote(parts[2]) if len(parts) > 2 else None
        written = (body or {}).get("id") if event_id is None and method == "POST" else event_id
        if method in WRITE_METHODS and written in self.refused:
            raise EmulatorError(*self.refused[written])
        if event_id is None and method == "GET":
            return 200, self._list(cal, query)
        if event_id is None and method == "POST":
            return 200, _public(self._insert(cal, body or {}))
        if event_id is None:
            raise EmulatorError(405, "methodNotAllowed", "Method not allowed")
        ev = self._event(cal, event_id)
        if method == "GET":
            return 200, _public(ev)
        self._if_match(ev, headers)
        if method == "DELETE":
            if ev["status"] == "cancelled":
                raise EmulatorError(410, "deleted", "Resource has been deleted")
            ev["status"] = "cancelled"
            self._touch(ev)
            return 204, None
        body = dict(body or {})
        if method == "PATCH":
            new = dict(ev)
            for key, value in body.items():
                if key == "extendedProperties" and isinstance(value, dict):
                    props = {k: dict(v) for k, v in ev.get("extendedProperties", {}).items()}
                    for scope, values in value.items():
                        props.setdefault(scope, {}).update(values)
                    new["extendedProperties"] = props
                elif key not in ("id", "etag", "kind", "updated"):
                    new[key] = value
        elif method == "PUT":
            new = {k: v for k, v in body.items() if k not in ("etag", "kind", "updated")}
            new.update(id=ev["id"], kind=ev["kind"], status=body.get("status", "confirmed"))
        else:
            raise EmulatorError(405, "methodNotAllowed", "Method not allowed")
        self._check_times(new)
        ev.clear()
        ev.update(new)
        self._touch(ev)
        return 200, _public(ev)

    def _list(self, cal: Calendar, query: dict) -> dict:
        sync_token = query.get("syncToken")
        if sync_token and any(k in query for k in ("timeMin", "timeMax", "updatedMin", "q", "orderBy")):
            raise EmulatorError(400, "invalid", "Sync token cannot be used with other query parameters.")
        base = 0
        if sync_token:
            if not re.fullmatch(r"t\d+", sync_token) or int(sync_token[1:]) < cal.min_token:
                raise EmulatorError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
            base = int(sync_token[1:])
        page = query.get("pageToken")
        snapshot, after = (int(page.split(":", 1)[0]), page.split(":", 1)[1]) if page else (self.seq, "")
        limit = min(int(query.get("maxResults", 250)), 2500)
        show_deleted = bool(sync_token) or query.get("showDeleted") == "true"
        time_min = datetime.fromisoformat(query["timeMin"].replace("Z", "+00:00")) if "timeMin" in query else None
        time_max = datetime.fromisoformat(query["timeMax"].replace("Z", "+00:00")) if "timeMax" in query else None
        single = query.get("singleEvents") == "true"
        items: list[dict] = []
        for ev in sorted(cal.events.values(), key=lambda e: e["id"]):
            if ev["_seq"] <= base:
                continue
            for item in self._expand(ev, cal.tz, time_max) if single else [ev]:
                if item["id"] <= after or (item["status"] == "cancelled" and not show_deleted):
                    continue
                if item["status"] != "cancelled" and not _in_window(item, cal.tz, time_min, time_max):
                    continue
                items.append(item)
        items.sort(key=lambda e: e["id"])
        out = {"kind": "calendar#events", "summary": cal.id, "timeZone": cal.tz, "items": []}
        out["items"] = [_public(e) for e in items[:limit]]
        if len(items) > limit:
            out["nextPageToken"] = f"{snapshot}:{items[limit - 1]['id']}"
        else:
            out["nextSyncToken"] = f"t{snapshot}"
        return out

    def _expand(self, ev: dict, cal_tz: str, time_max: datetime | None) -> Iterable[dict]:
        rules = [r for r in ev.get("recurrence", []) if r.startswith("RRULE:")]
        if not rules:
            yield ev
            return
        rule = dict(p.split("=", 1) for p in rules[0][len("RRULE:") :].split(";"))
        step = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}[rule["FREQ"]] * int(rule.get("INTERVAL", 1))
        count = int(rule.get("COUNT", 0)) or None
        until = parse_time({"dateTime": _until(rule["UNTIL"])}) if "UNTIL" in rule else None
        horizon = time_max or max(datetime.now(UTC), parse_time(ev["start"], cal_tz)) + timedelta(days=730)
        all_day = "date" in ev["start"]
        tz = ZoneInfo(ev["start"].get("timeZone", cal_tz))
        if all_day:
            first, length = date.fromisoformat(ev["start"]["date"]), None
            span = date.fromisoformat(ev["end"]["date"]) - first
        else:
            first = parse_time(ev["start"]).astimezone(tz).replace(tzinfo=None)
            length = parse_time(ev["end"]) - parse_time(ev["start"])
        n = 0
        while count is None or n < count:
            local = first + step * n
            if all_day:
                start = {"date": local.isoformat()}
                end = {"date": (local + span).isoformat()}
                instant = parse_time(start, cal_tz)
                stamp = local.strftime("%Y%m%d")
            else:
                instant = local.replace(tzinfo=tz).astimezone(UTC)
                start = {"dateTime": rfc3339(instant), "timeZone": tz.key}
                end = {"dateTime": rfc3339(instant + length), "timeZone": tz.key}
                stamp = instant.strftime("%Y%m%dT%H%M%SZ")
            if instant > horizon or (until is not None and instant > until):
                return
            inst = {k: v for k, v in ev.items() if k != "recurrence"}
            inst.update(id=f"{ev['id']}_{stamp}", recurringEventId=ev["id"], start=start, end=end)
            yield inst
            n += 1

    def pick_fault(self, method: str, query: dict):
        with self.lock:
            if self.scripted:
                return self.scripted.pop(0)
            if self.fault_rate and self.rng.random() < self.fault_rate:
                kind = self.rng.choice(self.fault_kinds)
                if kind == 410 and not (method == "GET" and "syncToken" in query):
                    return None
                return kind
            return None


def _until(value: str) -> str:
    return datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()


def _in_window(ev: dict, tz: str, time_min: datetime | None, time_max: datetime | None) -> bool:
    if time_min is not None and parse_time(ev["end"], tz) <= time_min:
        return False
    return not (time_max is not None and parse_time(ev["start"], tz) >= time_max)


def _public(ev: dict) -> dict:
    return {k: v for k, v in ev.items() if not k.startswith("_")}


def _error_body(status: int, reason: str, message: str) -> dict:
    return {"error": {"code": status, "message": message, "errors": [{"domain": "global", "reason": reason}]}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emu: CalendarEmulator

    def log_message(self, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response, which Google does not.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, body: dict | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True

    def _serve(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emu = self.emu
        cal_id = unquote(url.path[len(PREFIX) :].split("/")[0]) if url.path.startswith(PREFIX) else ""
        what = "list" if self.command == "GET" and url.path.rstrip("/").endswith("/events") else self.command.lower()
        with emu.lock:
            emu.requests.append((self.command, cal_id, what))
            emu.in_flight[cal_id] += 1
            emu.max_in_flight[cal_id] = max(emu.max_in_flight[cal_id], emu.in_flight[cal_id])
        try:
            self._answer(url, query, raw, what)
        finally:
            with emu.lock:
                emu.in_flight[cal_id] -= 1

    def _answer(self, url, query: dict, raw: bytes, what: str) -> None:
        emu = self.emu
        fault = emu.pick_fault(self.command, query)
        if fault is not None:
            with emu.lock:
                emu.faults[str(fault)] += 1
        if fault in (429, 500, 503):
            return self._send(fault, _error_body(fault, "backendError", "Injected fault"))
        if fault == "403rate":
            return self._send(403, _error_body(403, "rateLimitExceeded", "Rate Limit Exceeded"))
        if fault == 410 and "syncToken" in query:
            return self._send(410, _error_body(410, "fullSyncRequired", "Sync token is no longer valid."))
        if fault == "drop" or (fault == "commitdrop" and self.command not in WRITE_METHODS):
            return self._drop()
        try:
            body = json.loads(raw) if raw else None
            with emu.lock:
                status, out = emu.handle(self.command, url.path, query, self.headers, body)
        except EmulatorError as exc:
            return self._send(exc.status, _error_body(exc.status, exc.reason, exc.message))
        except (ValueError, KeyError) as exc:
            return self._send(400, _error_body(400, "invalid", f"Bad request: {exc}"))
        if fault == "commit500" and self.command in WRITE_METHODS:
            return self._send(500, _error_body(500, "backendError", "Injected fault after commit"))
        if fault == "commitdrop":
            return self._drop()
        if self.command in WRITE_METHODS and emu.hold_after_writes is not None:
            with emu.lock:
                emu.hold_after_writes -= 1
                hold = emu.hold_after_writes == 0
            if hold:
                emu.holding.set()
                emu.release.wait(60)
                return self._drop()
        return self._send(status, out)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Google Calendar v3 emulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    emu = CalendarEmulator().start(args.port)
    print(f"Calendar v3 emulator at {emu.endpoint} (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
