"""Named domain errors.

Two families: ``InvalidInput`` (the request itself is wrong: a 422 at the API)
and ``TransitionRefused`` (the request is fine but the dispute's state does not
allow it: a 409). Each error has a stable ``code`` that interfaces use as the
problem type.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain-error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    code = "invalid-input"


class NaiveDatetime(InvalidInput):
    code = "naive-datetime"


class EventInFuture(InvalidInput):
    code = "event-in-future"


class InvalidMoney(InvalidInput):
    code = "invalid-money"


class InvalidRating(InvalidInput):
    code = "invalid-rating"


class UnsupportedMediaType(InvalidInput):
    """A file of a type this place does not take (read from its content, not its name)."""

    code = "unsupported-media-type"


class EvidenceTooLarge(DomainError):
    """A file past the policy's size limit for one file or for the whole case."""

    code = "payload-too-large"


class TransitionRefused(DomainError):
    code = "transition-refused"


class CaseClosed(TransitionRefused):
    code = "case-closed"


class OrderConflict(TransitionRefused):
    code = "order-conflict"


class OrderCancelled(TransitionRefused):
    code = "order-cancelled"


class AlreadyShipped(TransitionRefused):
    code = "already-shipped"


class NotShipped(TransitionRefused):
    code = "not-shipped"


class AlreadyDelivered(TransitionRefused):
    code = "already-delivered"


class AlreadyReviewed(TransitionRefused):
    code = "already-reviewed"


class NoReview(TransitionRefused):
    code = "no-review"


class ReviewWindowClosed(TransitionRefused):
    code = "review-window-closed"


class InterventionNotAllowed(TransitionRefused):
    code = "intervention-not-allowed"


class NoOpenIntervention(TransitionRefused):
    code = "no-open-intervention"


class RefundNotAllowed(TransitionRefused):
    code = "refund-not-allowed"


class NoPendingRefund(TransitionRefused):
    code = "no-pending-refund"


class ReturnNotAllowed(TransitionRefused):
    code = "return-not-allowed"


class CaseNotSettled(TransitionRefused):
    """A close while money is owed or goods are on their way; the detail names each."""

    code = "case-not-settled"


class OrderStillOpen(TransitionRefused):
    """A close of an order that neither shipped nor was cancelled, without ``cancel_order``."""

    code = "order-still-open"


class ExtensionNotAllowed(TransitionRefused):
    code = "extension-not-allowed"


class AppealNotAllowed(TransitionRefused):
    code = "appeal-not-allowed"


class AppealWindowClosed(TransitionRefused):
    code = "appeal-window-closed"


class NoPendingAppeal(TransitionRefused):
    code = "no-pending-appeal"


class ClaimHeld(TransitionRefused):
    """Another moderator holds a live claim on the case: the detail names them and when
    their claim expires (claim it with ``take_over`` to act, or wait)."""

    code = "claim-held"


class ClaimNotHeld(TransitionRefused):
    """A release of a claim the moderator does not hold (none, another's, or expired)."""

    code = "claim-not-held"


class NotForThisActor(DomainError):
    """The role may take the step, but not this person on this case (HTTP 403): the
    moderator who ruled does not decide the appeal of that ruling."""

    code = "forbidden"


class NotFound(DomainError):
    """What was asked for does not exist (or is not the caller's to see)."""

    code = "not-found"


class DisputeNotFound(NotFound):
    code = "not-found"


class ConcurrentModification(DomainError):
    """The dispute changed since the version the caller named (If-Match)."""

    code = "precondition-failed"


class Contention(DomainError):
    """Other writers kept winning the race for the same case: retry shortly (HTTP 503).

    Not a refusal of the request: nothing was recorded, and the same request may
    be sent again (with the same idempotency key).
    """

    code = "contention"
