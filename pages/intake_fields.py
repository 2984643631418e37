"""Drawing an intake form's questions, for the customer's page (pages/intake.py) and the desk's
section of the appointment dialog alike: one widget per visible question, shown or hidden as
earlier answers change (the form's conditions, evaluated by core.intake.definition), starting
from what was saved. Returns what to send to core.intake.answers.submit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import streamlit as st

from core.intake import definition as d
from core.intake import uploads
from core.intake.answers import Upload
from pages.safe import plain

UPLOAD_TYPES = ["pdf", "jpg", "jpeg", "png", "heic", "heif"]


@dataclass
class Filled:
    answers: dict = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)


def _label(q: dict, required: bool) -> str:
    return plain(q["label"]) + (" \\*" if required else "")


def _value(q: dict, key: str, saved, label: str, help_: str | None):
    kind = q["kind"]
    if kind == "short_text":
        return st.text_input(label, value=saved or "", key=key, help=help_, max_chars=500)
    if kind == "long_text":
        return st.text_area(label, value=saved or "", key=key, help=help_, max_chars=2000)
    if kind == "number":
        return st.number_input(
            label, value=saved, key=key, help=help_, step=1 if isinstance(saved, int) or saved is None else 0.1
        )
    if kind == "date":
        initial = date.fromisoformat(saved) if saved else None
        picked = st.date_input(
            label, value=initial, key=key, help=help_, min_value=date(1900, 1, 1), format="YYYY-MM-DD"
        )
        return picked.isoformat() if picked else None
    if kind == "yes_no":
        index = None if saved is None else (0 if saved else 1)
        picked = st.radio(label, ["Yes", "No"], index=index, key=key, help=help_, horizontal=True)
        return None if picked is None else picked == "Yes"
    if kind == "single_choice":
        choices = q["choices"]
        return st.radio(label, choices, index=choices.index(saved) if saved in choices else None, key=key, help=help_)
    if kind == "multiple_choice":
        return st.multiselect(label, q["choices"], default=[c for c in (saved or []) if c in q["choices"]], key=key,
                              help=help_)  # fmt: skip
    return None


def draw(definition: dict, saved: dict, files: dict[str, str], signed: set[str], *, prefix: str,
         staff: str | None = None) -> Filled:  # fmt: skip
    """The form's widgets; `staff`: the name of the member of staff signing on the customer's behalf."""
    out = Filled()
    current: dict = {}
    sent = st.session_state.get(f"{prefix}:round", 0)  # uploads and signatures start empty after each save
    for q in definition["questions"]:
        if q not in d.visible_questions(definition, current):
            continue
        key, kind = q["key"], q["kind"]
        required = d.is_required(q, d.clean_answers(definition, current) if current else {})
        label, help_ = _label(q, required), plain(q.get("help")) or None
        wkey = f"{prefix}:{key}"
        if kind == "file":
            if key in files:
                st.caption(f"{plain(q['label'])}: {plain(files[key])} received. Upload again to replace it.")
            up = st.file_uploader(label, type=UPLOAD_TYPES, key=f"{wkey}:file{sent}", help=help_,
                                  max_upload_size=uploads.max_mb())  # fmt: skip
            if up is not None:
                out.uploads.append(Upload(key, up.name, up.getvalue()))
        elif kind == "consent":
            with st.container(border=True):
                st.markdown(f"**{plain(q['label'])}**" + (" \\*" if required else ""))
                st.markdown(plain(q.get("consent_text", "")))
                if key in signed:
                    st.success("Signed.", icon=":material/draw:")
                    continue
                agree = st.checkbox("I have read this and agree", key=f"{wkey}:agree{sent}")
                who = "Full name of the customer" if staff else "Type your full name to sign"
                name = st.text_input(who, key=f"{wkey}:name{sent}", max_chars=200, disabled=not agree)
                if agree:
                    out.signatures[key] = name
        else:
            value = _value(q, wkey, saved.get(key), label, help_)
            if value not in (None, "", []):
                current[key] = value
    out.answers = {q["key"]: current.get(q["key"]) for q in definition["questions"]
                   if q["kind"] not in ("file", "consent")}  # fmt: skip
    return out


def saved(prefix: str) -> None:
    """After a save: the next run draws empty uploaders and signature fields (what they held is stored)."""
    st.session_state[f"{prefix}:round"] = st.session_state.get(f"{prefix}:round", 0) + 1
