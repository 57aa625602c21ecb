"""The case screen and its forms: each form runs the same application command as the
API, and a refusal comes back as the API's reason, in words, above the form.

A form that decides (a ruling, an appeal decision, an extension, closing) carries
the case version it was drawn from: if the case changed meanwhile, it is refused
(the moderator looks again) instead of deciding on what they did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from application.access_audit import CONSOLE
from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.errors import DomainError, InvalidInput
from domain.requests import RequestStamp
from infrastructure.bootstrap import evidence_files
from infrastructure.logging import get_logger
from interface.console import session
from interface.console.case_screen import case_screen
from interface.console.forms import flag, flat, local_instant, money_field, stamp_of, text_field
from interface.console.rendering import back_to, error_text, flash, page
from interface.http.controllers.evidence import file_response

log = get_logger("disputedesk.console")


@dataclass(frozen=True, slots=True)
class Form:
    """A posted form with what reading it needs: the case's currency and time zone."""

    fields: Mapping[str, str]
    currency: str
    timezone: str
    version: int | None

    def text(self, name: str, *, required: bool = True) -> str | None:
        return text_field(self.fields, name, required=required)


Command = Callable[[DisputeDesk, UUID, Form, Actor, RequestStamp | None], Any]


def _required(value: str | None) -> str:
    assert value is not None
    return value


#: Each form's command: (what it says when done, what it runs).
COMMANDS: dict[str, tuple[str, Command]] = {
    "notes": ("Note added", lambda desk, id_, f, actor, stamp: desk.add_note(
        id_, text=_required(f.text("text")), actor=actor, request=stamp)),
    "evidence-requests": ("Evidence requested", lambda desk, id_, f, actor, stamp: (
        desk.request_evidence(id_, party=_required(f.text("party")),
                              description=_required(f.text("description")), actor=actor,
                              request=stamp))),
    "rulings": ("Ruled", lambda desk, id_, f, actor, stamp: desk.rule(
        id_, outcome=_required(f.text("outcome")), reason_code=_required(f.text("reason_code")),
        refund_amount=money_field(f.fields, "refund_amount", f.currency),
        new_ship_by=local_instant(f.fields, "new_ship_by", f.timezone),
        note=f.text("note", required=False), actor=actor, expected_version=f.version,
        request=stamp)),
    "appeal-decisions": ("Appeal decided", lambda desk, id_, f, actor, stamp: (
        desk.decide_appeal(
            id_, decision=_required(f.text("decision")),
            reason_code=_required(f.text("reason_code")),
            outcome=f.text("outcome", required=False),
            refund_amount=money_field(f.fields, "refund_amount", f.currency),
            note=f.text("note", required=False), actor=actor, expected_version=f.version,
            request=stamp))),
    "extensions": ("Ship-by extended", lambda desk, id_, f, actor, stamp: desk.extend_ship_by(
        id_, new_ship_by=_instant(f, "new_ship_by"), reason=_required(f.text("reason")),
        actor=actor, expected_version=f.version, request=stamp)),
    "close": ("Case closed", lambda desk, id_, f, actor, stamp: desk.close_case(
        id_, reason=_required(f.text("reason")), actor=actor, expected_version=f.version,
        request=stamp)),
    "claim": ("Claimed", lambda desk, id_, f, actor, stamp: desk.claim(
        id_, take_over=flag(f.fields, "take_over"), actor=actor, request=stamp)),
    "release": ("Claim released", lambda desk, id_, f, actor, stamp: desk.release_claim(
        id_, actor=actor, request=stamp)),
    "review-visibility": ("Review visibility changed", lambda desk, id_, f, actor, stamp: (
        desk.set_review_visibility(id_, hidden=flag(f.fields, "hidden"),
                                   reason=_required(f.text("reason")), actor=actor,
                                   request=stamp))),
}


def _instant(form: Form, name: str) -> Any:
    value = local_instant(form.fields, name, form.timezone)
    if value is None:
        raise InvalidInput(f"{name.replace('_', ' ')} is required", field=name)
    return value


def _version(fields: Mapping[str, str]) -> int | None:
    raw = fields.get("version", "").strip()
    return int(raw) if raw.isdigit() else None


def _run(desk: DisputeDesk, dispute_id: UUID, action: str, fields: Mapping[str, str],
         actor: Actor, stamp: RequestStamp | None) -> str:
    done, command = COMMANDS[action]
    view = desk.case(dispute_id, actor)
    timezone = desk.policy_for(desk.dispute(dispute_id)).regions[view["region"]].timezone
    form = Form(fields, view["amount"]["currency"], timezone, _version(fields))
    command(desk, dispute_id, form, actor, stamp)
    return done


class CasePages(Controller):
    path = "/cases"

    @get("/{dispute_id:uuid}", sync_to_thread=True)
    def case(self, request: Request[Any, Any, Any], dispute_id: FromPath[UUID],
             user: NamedDependency[Actor], desk: NamedDependency[DisputeDesk]) -> Template:
        session.require(user, "history")
        screen = case_screen(desk, dispute_id, user)
        return page(request, "case.html", user, live=f"/console/live/cases/{dispute_id}",
                    **screen)

    @post("/{dispute_id:uuid}/{action:str}")
    async def act(self, request: Request[Any, Any, Any], dispute_id: FromPath[UUID],
                  action: FromPath[str], user: NamedDependency[Actor],
                  desk: NamedDependency[DisputeDesk]) -> Redirect:
        if action not in COMMANDS:
            raise InvalidInput(f"there is no form {action!r} on a case")
        fields = flat(await request.form())
        stamp = stamp_of(fields, user, "POST", request.url.path)
        try:
            done = await sync_to_thread(_run, desk, dispute_id, action, fields, user, stamp)
        except DomainError as error:
            log.info("console.refused", dispute_id=str(dispute_id), action=action,
                     moderator=user.id, reason=error.detail)
            flash(request, "error", error_text(error))
            return back_to(f"/console/cases/{dispute_id}")
        log.info("console.done", dispute_id=str(dispute_id), action=action, moderator=user.id)
        flash(request, "ok", done)
        return back_to(f"/console/cases/{dispute_id}")

    @get("/{dispute_id:uuid}/evidence/{evidence_id:str}/file")
    async def evidence_file(self, dispute_id: FromPath[UUID], evidence_id: FromPath[str],
                            user: NamedDependency[Actor], desk: NamedDependency[DisputeDesk]
                            ) -> Stream:
        session.require(user, "evidence_file")
        files = evidence_files(desk)
        download = await sync_to_thread(files.download, dispute_id, evidence_id, user, CONSOLE)
        return file_response(download)
