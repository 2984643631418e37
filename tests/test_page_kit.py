"""The pages' UI kit: one action helper (a service's sentence on a refusal, one sentence for
anything unexpected, one message key), one dialog state, and no private Streamlit API."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.factories import shown

ROOT = Path(__file__).resolve().parent.parent


def _script() -> None:
    import streamlit as st

    from core.base.errors import ValidationError
    from pages import kit

    dialogs = kit.Dialogs("t_dialog", "tdlg_", "t")
    kit.show("t")

    def refuse():
        raise ValidationError("Pick a time first.")

    def crash():
        raise RuntimeError("boom")

    st.button("ok", on_click=kit.act, args=(lambda: 7, lambda n: f"Done {n}."), kwargs={"page": "t", "toast": True})
    if st.button("refused"):
        kit.act(refuse, "never", page="t", rerun=True)
        st.rerun()
    if st.button("crash"):
        kit.act(crash, "never", page="t", inline=True)
    if st.button("open"):
        dialogs.open("book", customer_id=3)
    if st.button("in dialog"):
        kit.act(refuse, "never", page="t", dialog=dialogs)
    if st.button("close"):
        dialogs.close()
    st.write(f"dialog: {dialogs.current()}")
    dialogs.error()


def _click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_one_action_helper_says_how_each_outcome_went():
    at = AppTest.from_function(_script, default_timeout=30).run()
    _click(at, "ok")
    assert [shown(t.value) for t in at.toast] == ["Done 7."]
    _click(at, "refused")  # the page runs again: the sentence is at the top, and stays until the next action
    assert [shown(e.value) for e in at.error] == ["Pick a time first."]
    at.run()
    assert [shown(e.value) for e in at.error] == ["Pick a time first."]
    _click(at, "crash")  # drawn where the button is, at once; the traceback goes to the log
    assert shown(at.error[-1].value) == "Something went wrong and nothing was changed. Try again, or reload the page."
    at.run()  # an action forgets the page's last message
    assert not at.error


def test_a_dialogs_refusal_shows_in_the_dialog_and_closing_forgets_it():
    at = AppTest.from_function(_script, default_timeout=30).run()
    _click(at, "open")
    assert "{'kind': 'book', 'customer_id': 3}" in at.markdown[0].value
    _click(at, "in dialog")
    at.run()  # the refusal is kept for the dialog, not for the page's top
    assert [shown(e.value) for e in at.error] == ["Pick a time first."]
    _click(at, "close")
    assert "dialog: None" in at.markdown[0].value and not at.error


def test_the_five_page_helpers_are_one():
    """today_state.attempt, settings_common.run, admin_users.run, notifications.run and
    queue_parts.attempt used to each catch errors their own way: every page action now goes
    through pages.kit.act, the one place that catches DomainError."""
    catchers = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        text = path.read_text()
        if re.search(r"def (attempt|_done|_dialog_error|show_messages)\(", text):
            catchers.append(path.name)
        if "log.exception" in text and path.name != "kit.py":
            catchers.append(path.name)
    assert catchers == []


def test_pages_use_no_private_streamlit_api():
    """Streamlit's public API is streamlit, streamlit.testing and a few documented modules; the
    runtime's insides change between releases without notice."""
    private = re.compile(r"^\s*(from|import) streamlit\.(runtime|web|elements|commands|proto)\b", re.M)
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert [f.name for f in files if private.search(f.read_text())] == []
