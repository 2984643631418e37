"""A customer's contact preferences, in their details: may we email them, may we text them, a
button to change each (one service call, audited), and who changed them when."""

from __future__ import annotations

import streamlit as st

from core.base.errors import DomainError
from core.base.tz import to_local
from core.notifications import preferences
from core.scheduling.availability import fmt_day
from core.security.access import A, Actor, can
from pages import kit
from pages.safe import plain
from pages.today_state import PAGE

LABELS = {"email": "Email", "sms": "Text messages"}


def contact_preferences(actor: Actor, customer_id: int, tz: str) -> None:
    try:
        prefs = preferences.preferences(actor, customer_id)
    except DomainError as exc:
        st.caption(plain(str(exc)))
        return
    st.markdown("**Contact preferences**")
    manage = can(actor, A.CUSTOMER_MANAGE)
    for channel, label in LABELS.items():
        allowed = prefs.allowed[channel]
        text_col, button_col = st.columns([3, 2], vertical_alignment="center")
        text_col.markdown(f"{label}: {'allowed' if allowed else ':orange[opted out]'}")
        if manage:
            button_col.button(
                f"Stop {label.lower()}" if allowed else f"Allow {label.lower()}",
                key=f"pref_{customer_id}_{channel}",
                on_click=kit.act,
                args=(
                    lambda c=channel, a=allowed: preferences.set_preference(actor, customer_id, c, not a),
                    lambda s: s,
                ),
                kwargs={"page": PAGE},
            )
    if not prefs.history:
        st.caption("Never changed: every reminder goes out.")
        return
    lines = []
    for change in prefs.history[:10]:
        when = to_local(change.at, tz)
        what = f"{LABELS[change.channel].lower()} {'allowed' if change.allowed else 'stopped'}"
        by = "the customer, by the unsubscribe link" if change.by == "public" else change.by
        where = f" from {change.client_address}" if change.client_address else ""
        why = f" ({change.reason})" if change.reason and change.by != "public" else ""
        lines.append(f"{fmt_day(when.date())} {when:%H:%M} · {what} by {by}{where}{why}")
    st.caption(plain("\n".join(lines)))
