"""A type's intake form: the draft the settings editor saves, the immutable versions it
publishes, and the type's pre-visit instructions. Services need the settings permission at
every location the type is offered (a type offered everywhere: someone who works everywhere),
as the type's own settings do, and write one audit row each.

Reads: `current_form` (the newest published version, what new intakes answer) and
`form_by_id` (the version an intake recorded) take a session; `editor_state` is the settings
page's read for an actor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.models import AppointmentType, User
from core.intake.definition import parse_definition
from core.intake.models import IntakeForm, IntakeFormDraft
from core.security import access
from core.security.access import A, Actor
from core.security.service import Tx, reading, service

INSTRUCTIONS_MAX = 4000
FormVersion = tuple[int, int, dict]  # (form id, version, definition)


@dataclass(frozen=True)
class PublishedVersion:
    version: int
    published_at: datetime
    published_by: str | None
    questions: int


@dataclass(frozen=True)
class EditorState:
    type_id: int
    type_name: str
    draft: dict | None  # None: no draft; the editor starts from the current version
    current: FormVersion | None
    versions: list[PublishedVersion]  # newest first
    instructions: str | None


class _Yaml12Booleans(yaml.SafeLoader):
    """YAML as people write forms: only true/false are booleans (YAML 1.2), so `choices: [Yes, No]`
    and `label: No` stay text instead of PyYAML's YAML 1.1 booleans."""


_BOOL = "tag:yaml.org,2002:bool"
_Yaml12Booleans.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Booleans.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_definition(raw: object) -> dict:
    """`raw` as a definition: a dict, or text in YAML (JSON is YAML too), parsed and checked."""
    if isinstance(raw, str):
        if not raw.strip():
            return parse_definition({"questions": []})
        try:
            raw = yaml.load(raw, Loader=_Yaml12Booleans)  # a SafeLoader: no tags that build objects
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ValidationError(
                f"The form is not readable YAML{where}: check the indentation and the colons."
            ) from None
    return parse_definition(raw)


def current_form(session: Session, type_id: int) -> FormVersion | None:
    """The type's newest published version, or None when it has never published one."""
    row = session.scalars(
        select(IntakeForm).where(IntakeForm.appointment_type_id == type_id).order_by(IntakeForm.version.desc()).limit(1)
    ).first()
    return (row.id, row.version, row.definition) if row else None


def form_by_id(session: Session, form_id: int) -> FormVersion | None:
    row = session.get(IntakeForm, form_id)
    return (row.id, row.version, row.definition) if row else None


def _require_type(tx: Tx, type_id: int) -> AppointmentType:
    """The type, locked; the actor may change settings wherever it is offered."""
    t = tx.get(AppointmentType, type_id, what="appointment type")
    ids = sorted(loc.id for loc in t.locations)
    if not ids:
        tx.require(None)
        if not tx.actor.all_locations:
            access.deny(tx.actor, tx.action, f"{t.name} is offered at every location: only someone who works at "
                        "every location may change its intake.", entity=tx.entity, entity_id=type_id)  # fmt: skip
    for location_id in ids:
        tx.require(location_id)
    return t


def _draft_or_current(session: Session, type_id: int) -> dict | None:
    draft = session.get(IntakeFormDraft, type_id)
    if draft is not None:
        return draft.definition
    current = current_form(session, type_id)
    return current[2] if current else None


def save_draft(actor: Actor | None, type_id: int, raw: object, *, now: datetime | None = None) -> dict:
    """Keep `raw` (checked, normalised) as the type's draft; returns it. Nothing is asked of
    customers until it is published."""
    now = resolve_now(now)
    definition = read_definition(raw)
    with service(actor, A.SETTINGS_MANAGE, entity="intake_form", entity_id=type_id) as tx:
        t = _require_type(tx, type_id)
        draft = tx.session.get(IntakeFormDraft, type_id)
        before = draft.definition if draft else None
        if _draft_or_current(tx.session, type_id) == definition:
            raise ValidationError(f"This is already the intake form of {t.name}: nothing to save.")
        if draft is None:
            draft = IntakeFormDraft(appointment_type_id=type_id, definition=definition)
            tx.session.add(draft)
        draft.definition, draft.updated_at = definition, now
        draft.updated_by = actor.user_id if actor else None
        tx.session.flush()
        tx.audit(before={"draft": before}, after={"draft": definition}, reason=f"intake form draft of {t.name} saved")
    return definition


def discard_draft(actor: Actor | None, type_id: int) -> None:
    """Drop the draft; the editor shows the published version again."""
    with service(actor, A.SETTINGS_MANAGE, entity="intake_form", entity_id=type_id) as tx:
        t = _require_type(tx, type_id)
        draft = tx.session.get(IntakeFormDraft, type_id)
        if draft is None:
            raise ValidationError(f"{t.name} has no draft intake form to discard.")
        before = draft.definition
        tx.session.delete(draft)
        tx.session.flush()
        tx.audit(before={"draft": before}, after={"draft": None}, reason=f"intake form draft of {t.name} discarded")


def publish_form(actor: Actor | None, type_id: int, *, now: datetime | None = None) -> int:
    """Publish the draft as the type's next version (immutable from then on); returns the
    version. Intakes already begun keep the version they answered."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="intake_form", entity_id=type_id) as tx:
        t = _require_type(tx, type_id)
        draft = tx.session.get(IntakeFormDraft, type_id)
        if draft is None:
            raise ValidationError(f"{t.name} has no draft intake form to publish: save one first.")
        definition = parse_definition(draft.definition)  # checked again: the rules may have grown since
        current = current_form(tx.session, type_id)
        if current and current[2] == definition:
            raise ValidationError(f"The draft is the same as version {current[1]} of {t.name}: nothing to publish.")
        version = (current[1] if current else 0) + 1
        form = IntakeForm(appointment_type_id=type_id, version=version, definition=definition, published_at=now,
                          published_by=actor.user_id if actor else None)  # fmt: skip
        tx.session.add(form)
        tx.session.delete(draft)
        try:
            tx.session.flush()
        except IntegrityError:
            raise ConflictError(
                f"Version {version} of {t.name}'s intake form was just published by someone else: reload."
            ) from None
        from core.intake.answers import refresh_type_in  # answers reads forms: imported when needed

        resign = refresh_type_in(tx.session, type_id, now)  # a changed consent text is signed again
        tx.audit(
            entity_id=type_id,
            before={"version": current[1] if current else None},
            after={"version": version, "form_id": form.id, "definition": definition, "intakes_changed": resign},
            reason=f"intake form of {t.name} published as version {version}",
        )
    return version


def set_instructions(actor: Actor | None, type_id: int, text: str | None) -> None:
    """The type's pre-visit instructions (empty: none), sent with the confirmation and shown on
    the intake page."""
    cleaned = limits.text(text, "pre-visit instructions", INSTRUCTIONS_MAX)
    with service(actor, A.SETTINGS_MANAGE, entity="appointment_type", entity_id=type_id) as tx:
        t = _require_type(tx, type_id)
        before = t.pre_visit_instructions
        if before == cleaned:
            raise ValidationError(f"These are already the pre-visit instructions of {t.name}: nothing to save.")
        t.pre_visit_instructions = cleaned
        tx.session.flush()
        tx.audit(before={"pre_visit_instructions": before}, after={"pre_visit_instructions": cleaned},
                 reason=f"pre-visit instructions of {t.name} changed")  # fmt: skip


def editor_state(actor: Actor | None, type_id: int) -> EditorState:
    """What the settings editor shows for a type: its draft, current version and history."""
    with reading(actor, A.SETTINGS_MANAGE, entity="intake_form", entity_id=type_id) as session:
        t = session.get(AppointmentType, type_id)
        ids = [loc.id for loc in t.locations] if t else []
        if t is None or (ids and not actor.all_locations and not any(actor.in_scope(i) for i in ids)):
            raise NotFound(f"Unknown appointment type #{type_id}.")
        draft = session.get(IntakeFormDraft, type_id)
        rows = session.execute(
            select(IntakeForm, User.username)
            .outerjoin(User, User.id == IntakeForm.published_by)
            .where(IntakeForm.appointment_type_id == type_id)
            .order_by(IntakeForm.version.desc())
        ).all()
        versions = [
            PublishedVersion(f.version, f.published_at, name, len(f.definition["questions"])) for f, name in rows
        ]
        current = (rows[0][0].id, rows[0][0].version, rows[0][0].definition) if rows else None
        return EditorState(
            type_id, t.name, draft.definition if draft else None, current, versions, t.pre_visit_instructions
        )
