"""Plain HTTP POST routes of the customer-facing door, beside the Streamlit pages: what a mail
client posts to a link (RFC 8058 one-click unsubscribe: "List-Unsubscribe=One-Click" as a form
body) cannot go through a Streamlit page. `serve.py` mounts them on Streamlit's own Starlette
server (`st.App(..., routes=...)`, which `streamlit run serve.py` discovers and runs). A route is
one line here, its handler a core service taking the form fields and the client address:

    post_route("/unsubscribe", one_click_unsubscribe)

The handler's return value is ignored (200 "OK"); a DomainError answers 400 with its sentence,
TooManyRequests 429; nothing else about the app is reachable this way."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core.base.config import get_settings
from core.base.errors import DomainError, ValidationError
from core.notifications import preferences
from core.security import auth
from core.security.door import TooManyRequests

ONE_CLICK = "This address takes a one-click unsubscribe from a mail client; open the link in a browser instead."
Handler = Callable[[dict[str, str], str], object]
MAX_BODY = 4096
_routes: dict[str, Handler] = {}


def post_route(path: str, handler: Handler) -> None:
    """Register a POST route of the door (path like "/unsubscribe")."""
    _routes[path] = handler


def _client(request: Request) -> str:
    header = get_settings().client_ip_header
    return auth.client_of(
        request.headers.get(header) if header else None, request.client.host if request.client else None
    )


def _endpoint(handler: Handler):
    async def endpoint(request: Request) -> PlainTextResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("Request too large.", status_code=413)
        form = {k: str(v) for k, v in (await request.form()).items()}
        fields = {**dict(request.query_params), **form}
        try:
            await run_in_threadpool(handler, fields, _client(request))
        except TooManyRequests as exc:
            return PlainTextResponse(str(exc), status_code=429)
        except DomainError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return PlainTextResponse("OK")

    return endpoint


def routes() -> list[Route]:
    """The registered routes, for st.App(routes=...)."""
    return [Route(path, _endpoint(handler), methods=["POST"]) for path, handler in sorted(_routes.items())]


def one_click_unsubscribe(form: dict[str, str], client: str) -> str:
    """RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the header's URL (token in
    its query). Not behind the door's switch or rate limit: an opt-out always works, and a bad
    token writes nothing (LinkError, 400 with its sentence)."""
    if form.get("List-Unsubscribe") != "One-Click":
        raise ValidationError(ONE_CLICK)
    return preferences.unsubscribe(form.get("t"), client)


post_route("/unsubscribe", one_click_unsubscribe)
