"""The disputedesk application service: commands and queries over plain values.

Each command names what it does to a dispute; :class:`DisputeCommands` loads it,
acts and saves, once per request. Reads: :class:`CaseReads`; policies: :class:`PolicyBook`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.access import Forbidden, require
from application.access_audit import AccessAudit, AccessLog
from application.case_reads import CaseReads
from application.case_view import STAFF_ROLES
from application.claim_commands import ClaimCommands
from application.commit_following import FollowsCommits
from application.dispute_commands import Act, DisputeCommands, NoPolicyInForce
from application.dispute_store import Disputes, UnitOfWork
from application.evidence_commands import EvidenceCommands
from application.group_commit import GroupCommit
from application.own_commits import OwnCommits
from application.policies import PolicyBook
from application.ports import Clock, CommitCounter
from application.read_cache import ReadCache
from application.retries import MAX_ATTEMPTS
from application.rulings import RulingCommands
from application.staff_reads import StaffReads
from application.turns import Turns
from domain.dispute import Actor, Dispute, dispute_id_for
from domain.dispute.access import COMMAND_ROLES
from domain.money import Money
from domain.policy import Policy
from domain.policy_ledger import PolicyAlreadyPublished
from domain.requests import RequestStamp

if TYPE_CHECKING:
    from application.evidence_files import BlobStore

__all__ = ["COMMAND_ROLES", "MAX_ATTEMPTS", "DisputeDesk", "Forbidden", "NoPolicyInForce",
           "PolicyAlreadyPublished"]


View = dict[str, Any]
#: Disputes kept, as this process last saved them, for the next command on them.
KEEP_SAVED = 1024


class DisputeDesk(RulingCommands, EvidenceCommands, ClaimCommands, StaffReads,
                  FollowsCommits):
    """Every dispute is an event-sourced aggregate; every method speaks plain values.
    Rulings and their appeals: :class:`RulingCommands`; the history and the case's past:
    :class:`StaffReads`."""

    name = "disputedesk"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock,
        default_policy: Policy,
        commits: CommitCounter | None = None,
        serial_commands: bool = False,
        read_cache: bool = True,
        keep_saved: int = KEEP_SAVED,
        blobs: BlobStore | None = None,
        access_log: AccessLog | None = None,
        group_commit: bool = False,
    ) -> None:
        """``serial_commands``: commands take turns, first come, first served, for a
        store that admits one writer at a time (SQLite; docs/decisions.md, "Serving").
        ``read_cache``: off, every read replays the case (same answers, more work).
        ``keep_saved``: how many saved disputes commands start from (0: every command
        replays its case; same answers, more work). ``blobs``: evidence files' bytes.
        ``access_log``: where moderators' reads are recorded (closed with the desk).
        ``group_commit``: concurrent commands' saves share transactions (same answers)."""
        super().__init__(env)
        self.clock = clock
        self.blobs = blobs
        self.access_audit = AccessAudit(access_log, clock)
        self._commits = OwnCommits(commits) if commits is not None else None
        self._read_cache = read_cache
        self._turns: AbstractContextManager[Any] = Turns() if serial_commands else nullcontext()
        self._policy_book = PolicyBook(self, clock, self._turns)
        self.policies = self._policy_book.versions
        group = GroupCommit(lambda *e: self.save(*e)) if group_commit else None  # late-bound
        disputes = Disputes(self, keep=keep_saved, group=group)
        self._wire(disputes, ReadCache(disputes, self._commits) if read_cache else None)
        self._policy_book.ensure(default_policy)

    def _wire(self, disputes: Disputes, cache: ReadCache | None) -> None:
        self._disputes = disputes
        self._commands = DisputeCommands(disputes, self._policy_book, self.clock, self._turns)
        self._reads = CaseReads(disputes, self._policy_book, self.clock, cache)

    def close(self) -> None:
        if isinstance(self._disputes, UnitOfWork):  # a batch's view: the stores are not its
            return
        if self._commits is not None:
            self._commits.close()
        self.access_audit.close()
        super().close()

    @contextmanager
    def batch(self) -> Iterator[DisputeDesk]:
        """This application bound to a batch: the commands run through what it yields
        are saved in one transaction when the block ends (``with desk.batch() as
        batch: batch.place_order(...)``); they see each other's changes.

        Much faster for bulk loads. A command that fails raises at once; nothing
        is saved if the block raises.
        """
        if isinstance(self._disputes, UnitOfWork):
            raise RuntimeError("batches do not nest")
        work = UnitOfWork(self)
        bound = copy.copy(self)
        bound._wire(work, None)
        yield bound
        with self._turns:
            work.commit()

    @property
    def turns(self) -> AbstractContextManager[Any]:  # the writers' turn (one at a time: SQLite)
        return self._turns

    def dispute(self, dispute_id: UUID) -> Dispute:
        """The case as its store (or this batch) holds it, for a step that reads first."""
        return self._disputes.get(dispute_id)

    # ---- policies -------------------------------------------------------------

    def publish_policy(
        self, document: Mapping[str, Any], actor: Actor, request: RequestStamp | None = None
    ) -> View:
        self._require("publish_policy", actor)
        return self._policy_book.publish(document, actor, request)

    def policy(self, version: str) -> Policy | None:
        return self._policy_book.get(version)

    def current_policy(self) -> Policy:
        return self._policy_book.current()

    def policy_for(self, d: Dispute) -> Policy:
        return self._policy_book.of(d)

    # ---- commands -------------------------------------------------------------

    def _require(self, command: str, actor: Actor) -> None:
        require(COMMAND_ROLES, command, actor)

    def _carry_out(self, command: str, dispute_id: UUID, actor: Actor, act: Act,
                   expected_version: int | None, request: RequestStamp | None) -> View:
        self._require(command, actor)
        return self._commands.run(command, dispute_id, actor, act, expected_version, request)

    def place_order(self, *, order_id: str, buyer_id: str, seller_id: str, region: str,
                    category: str, amount: Money, placed_at: datetime, actor: Actor,
                    request: RequestStamp | None = None,
                    seller_name: str | None = None) -> tuple[View, bool]:
        """Open the case for an order. Returns (case view, created?)."""
        self._require("place_order", actor)
        return self._commands.open_case(
            order_id=order_id, buyer_id=buyer_id, seller_id=seller_id, region=region,
            category=category, amount=amount, placed_at=placed_at, actor=actor, request=request,
            seller_name=seller_name)

    def ship(self, dispute_id: UUID, *, carrier: str, tracking_number: str, shipped_at: datetime,
             actor: Actor, expected_version: int | None = None,
             request: RequestStamp | None = None) -> View:
        return self._carry_out("ship", dispute_id, actor, lambda d, p, now: d.ship(
            carrier, tracking_number, shipped_at, actor, now), expected_version, request)

    def deliver(self, dispute_id: UUID, *, delivered_at: datetime, actor: Actor,
                expected_version: int | None = None, request: RequestStamp | None = None) -> View:
        return self._carry_out("deliver", dispute_id, actor, lambda d, p, now: d.deliver(
            delivered_at, actor, now), expected_version, request)

    def contact_seller(self, dispute_id: UUID, *, message: str, channel: str, actor: Actor,
                       expects_reply: bool = True, expected_version: int | None = None,
                       request: RequestStamp | None = None) -> View:
        return self._carry_out("contact_seller", dispute_id, actor, lambda d, p, now: (
            d.contact_seller(message, channel, actor, now, expects_reply, policy=p)),
            expected_version, request)

    def respond(self, dispute_id: UUID, *, message: str, promised_ship_date: date | None = None,
                actor: Actor, expected_version: int | None = None,
                request: RequestStamp | None = None) -> View:
        return self._carry_out("respond", dispute_id, actor, lambda d, p, now: d.respond(
            message, promised_ship_date, p, actor, now), expected_version, request)

    def request_intervention(self, dispute_id: UUID, *, reason: str, statement: str,
                             evidence_ids: list[str] | None = None, actor: Actor,
                             expected_version: int | None = None,
                             request: RequestStamp | None = None) -> View:
        return self._carry_out("request_intervention", dispute_id, actor, lambda d, p, now: (
            d.request_intervention(reason, statement, list(evidence_ids or []), actor, now)),
            expected_version, request)

    def request_refund(self, dispute_id: UUID, *, reason: str, amount: Money | None = None,
                       actor: Actor, expected_version: int | None = None,
                       request: RequestStamp | None = None) -> View:
        return self._carry_out("request_refund", dispute_id, actor, lambda d, p, now: (
            d.request_refund(amount, reason, actor, now)), expected_version, request)

    def decide_refund(self, dispute_id: UUID, *, approve: bool, reason: str | None = None,
                      actor: Actor, expected_version: int | None = None,
                      request: RequestStamp | None = None) -> View:
        return self._carry_out("decide_refund", dispute_id, actor, lambda d, p, now: (
            d.decide_refund(approve, reason, actor, now)), expected_version, request)

    def issue_refund(self, dispute_id: UUID, *, amount: Money, actor: Actor,
                     due_id: str | None = None, expected_version: int | None = None,
                     request: RequestStamp | None = None) -> View:
        return self._carry_out("issue_refund", dispute_id, actor, lambda d, p, now: (
            d.issue_refund(amount, actor, now, due_id)), expected_version, request)

    def return_goods(self, dispute_id: UUID, *, carrier: str, tracking_number: str,
                     actor: Actor, label_cost: Money | None = None,
                     expected_version: int | None = None,
                     request: RequestStamp | None = None) -> View:
        return self._carry_out("return_goods", dispute_id, actor, lambda d, p, now: (
            d.return_goods(carrier, tracking_number, actor, now, label_cost=label_cost,
                           policy=p)), expected_version, request)

    def confirm_return_receipt(self, dispute_id: UUID, *, actor: Actor,
                               expected_version: int | None = None,
                               request: RequestStamp | None = None) -> View:
        return self._carry_out("confirm_return_receipt", dispute_id, actor, lambda d, p, now: (
            d.confirm_return_receipt(actor, now)), expected_version, request)

    def review(self, dispute_id: UUID, *, rating: int, comment: str, actor: Actor,
               expected_version: int | None = None, request: RequestStamp | None = None) -> View:
        return self._carry_out("review", dispute_id, actor, lambda d, p, now: d.review(
            rating, comment, p, actor, now), expected_version, request)

    def add_note(self, dispute_id: UUID, *, text: str, actor: Actor,
                 expected_version: int | None = None, request: RequestStamp | None = None) -> View:
        return self._carry_out("add_note", dispute_id, actor, lambda d, p, now: d.add_note(
            text, actor, now, policy=p), expected_version, request)

    def close_case(self, dispute_id: UUID, *, reason: str, actor: Actor,
                   cancel_order: bool = False, expected_version: int | None = None,
                   request: RequestStamp | None = None) -> View:
        return self._carry_out("close", dispute_id, actor, lambda d, p, now: d.close(
            reason, actor, now, cancel_order), expected_version, request)

    def extend_ship_by(self, dispute_id: UUID, *, new_ship_by: datetime, reason: str,
                       actor: Actor, expected_version: int | None = None,
                       request: RequestStamp | None = None) -> View:
        return self._carry_out("extend_ship_by", dispute_id, actor, lambda d, p, now: (
            d.extend_ship_by(new_ship_by, reason, p, actor, now)), expected_version, request)

    def record_due(self, dispute_id: UUID, now: datetime | None = None) -> list[View]:
        """Record the derived events of one dispute that are due by ``now``."""
        return self._commands.record_due(dispute_id, now)

    # ---- queries --------------------------------------------------------------

    def case(self, dispute_id: UUID, actor: Actor, *, min_version: int = 0) -> View:
        """The case view, never older than ``min_version`` (a version a command returned).
        Nested values may be shared with other reads: do not change them."""
        self._require("view", actor)
        return self._reads.case(dispute_id, actor, min_version)

    def case_in_memory(self, dispute_id: UUID, actor: Actor,
                       min_version: int = 0) -> View | None:
        """The case view if the state kept from an earlier read is known to be current
        without any I/O; else None, and :meth:`case` will ask the store. Never blocks,
        so an event loop may call it. Refuses exactly as :meth:`case` does."""
        self._require("view", actor)
        return self._reads.case_in_memory(dispute_id, actor, min_version)

    def case_as_answered(self, dispute_id: UUID, actor: Actor, version: int | None = None) -> View:
        """The case as a command of ``actor`` answers it (at ``version``, or now), with
        ``next_actions`` as of now: what a replayed command returns. Unlike :meth:`case`
        open to every role that runs commands on cases (the platform included)."""
        self._require("view_outcome", actor)
        return self._reads.as_answered(dispute_id, actor, version)

    def case_for_order(self, order_id: str, actor: Actor) -> View:
        """The case of an order as ``actor``'s commands see it (the platform included)."""
        return self.case_as_answered(dispute_id_for(order_id), actor)

    def messages(self, dispute_id: UUID, actor: Actor) -> list[View]:
        """The conversation between buyer and seller, oldest first (never a note)."""
        self._require("messages", actor)
        return self._reads.messages(dispute_id, actor)

    def has_disputes(self) -> bool:
        """Whether any order was ever recorded (the policy ledger alone does not count)."""
        return bool(self.recorder.select_notifications(1, 1, topics=[Dispute.OrderPlaced.TOPIC]))

    def is_staff(self, actor: Actor) -> bool:
        return actor.role in STAFF_ROLES
