"""Evidence files: the blob store port, and the service that takes an upload in and
hands the bytes back out.

The bytes live outside the event log, in a blob store (``BlobStore``: on disk beside
SQLite, in a table on PostgreSQL); the ``EvidenceAdded`` event records what proves
them (SHA-256, size, type read from the content) and the blob id. An upload is
streamed: it never sits in memory whole.

Nothing is kept of an upload that is refused. The caller's right to add evidence and
the case being open are checked before a byte is stored (:meth:`EvidenceFiles.admit`);
a file past the policy's limit stops being read and leaves nothing; a refusal of the
command (type, size, the case's total, a stale version) deletes the blob, and so does
a request that turns out to be a replay of one already carried out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import structlog

from application.access import check_visible, require
from application.access_audit import Read, Via
from application.disputes import DisputeDesk
from application.evidence_types import (
    HEAD_BYTES,
    check_claims,
    check_not_empty,
    clean_filename,
    content_type_of,
)
from domain.dispute import Actor, guards
from domain.dispute.access import COMMAND_ROLES
from domain.dispute.state import EvidenceFile
from domain.errors import (
    ConcurrentModification,
    DomainError,
    EvidenceTooLarge,
    NotFound,
    TransitionRefused,
)
from domain.requests import RequestStamp

log = structlog.get_logger("disputedesk.application")

View = dict[str, Any]


# ---- the port -------------------------------------------------------------------------


class BlobTooLarge(Exception):
    """The stream passed the byte limit it was written with; nothing of it was kept."""


class BlobMissing(Exception):
    """No blob is kept under that id."""


@dataclass(frozen=True)
class StoredBlob:
    """A blob just written: its id, the SHA-256 (hex) and size of its bytes, and its
    first bytes (up to :data:`HEAD_BYTES`), to tell its type by."""

    blob_id: str
    sha256: str
    size: int
    head: bytes


class BlobStore(Protocol):
    """Where evidence files' bytes are kept. Implementations must be thread-safe."""

    def write(self, chunks: Iterable[bytes], limit: int) -> StoredBlob:
        """Keep the bytes of ``chunks``, as they come, under a new blob id; count and
        hash them and keep the first ones on the way (:class:`Measured` does it).

        Once more than ``limit`` bytes came: :class:`BlobTooLarge`, and nothing is
        kept; whatever ``chunks`` raises leaves nothing kept either, and goes on up.
        """
        ...

    def open(self, blob_id: str) -> Iterator[bytes]:
        """The blob's bytes, a chunk at a time; :class:`BlobMissing` (at once) if there is
        none. Close the iterator when done with it early."""
        ...

    def delete(self, blob_id: str) -> None:
        """Forget the blob; nothing happens if there is none."""
        ...


class Measured:
    """``chunks`` as they pass through a blob store: counted, hashed, the first bytes
    kept, and refused once past ``limit`` bytes (:class:`BlobTooLarge`)."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._limit:
                raise BlobTooLarge(f"more than {self._limit} bytes")
            self._hash.update(chunk)
            if len(self._head) < HEAD_BYTES:
                self._head += chunk[: HEAD_BYTES - len(self._head)]
            yield chunk

    def stored(self, blob_id: str) -> StoredBlob:
        return StoredBlob(blob_id, self._hash.hexdigest(), self.size, bytes(self._head))


# ---- the service ----------------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    """An upload the caller may send to a case: how many bytes its file may hold, and
    why not when it is refused. ``refusal`` is given only to a request that may be a
    retry (it carries a key): its file is read, not kept, so that the request can be
    told apart from the one it may repeat; then the refusal stands."""

    dispute_id: UUID
    limit: int
    too_large: str
    refusal: DomainError | None = None

    def check_size(self, announced: int, allowance: int) -> None:
        """Refuse (413) before reading it an upload announced as larger than the file
        may be, with ``allowance`` bytes for what comes with it."""
        if announced > self.limit + allowance:
            raise EvidenceTooLarge(self.too_large, field="file")


@dataclass(frozen=True)
class Received:
    """An uploaded file, read to the end: kept under ``blob.blob_id`` unless the
    upload was refused, and its type read from its content."""

    blob: StoredBlob
    content_type: str
    filename: str
    kept: bool

    def facts(self) -> EvidenceFile:
        return EvidenceFile(self.blob.sha256, self.content_type, self.blob.size,
                            self.filename, self.blob.blob_id)


@dataclass(frozen=True)
class Download:
    """An evidence file to send: its recorded type, name, size and SHA-256, and its
    bytes, a chunk at a time (close ``chunks`` when done early)."""

    content_type: str
    filename: str
    size: int
    sha256: str
    chunks: Iterator[bytes]


class EvidenceFiles:
    """Uploads into and downloads from ``blobs``, for the cases of ``desk``."""

    def __init__(self, desk: DisputeDesk, blobs: BlobStore) -> None:
        self._desk = desk
        self.blobs = blobs

    def admit(self, dispute_id: UUID, actor: Actor, *, expected_version: int | None = None,
              may_be_retry: bool = False) -> Admission:
        """Whether ``actor`` may add a file to the case now, and how large it may be.

        Refused at once: a role that may not add evidence (403), a case that is not
        there or not the caller's (404), and (unless ``may_be_retry``) a closed case
        (409) or a stale ``expected_version`` (412).
        """
        require(COMMAND_ROLES, "add_evidence", actor)
        d = self._desk.dispute(dispute_id)
        check_visible(d, actor)
        policy = self._desk.policy_for(d)
        # A retry is read as far as a first upload could go: its room is judged when
        # it is recorded (a retry of the upload that filled the case answers as it did).
        limit, why = d.evidence_file_limit(policy)
        refusal: DomainError | None = None
        try:
            guards.can_add_evidence(d)
            room = d.evidence_room(policy)  # a full case: 409 case-limit-reached
            if not may_be_retry:
                limit, why = room
            if expected_version is not None and d.version != expected_version:
                raise ConcurrentModification(
                    f"the dispute is at version {d.version}, not {expected_version}")
        except (TransitionRefused, ConcurrentModification) as refused:
            if not may_be_retry:
                raise
            refusal = refused
        too_large = f"{why}; this file holds more than {limit:,} bytes"
        return Admission(dispute_id, limit, too_large, refusal)

    def receive(self, admission: Admission, chunks: Iterable[bytes], *, filename: str | None,
                declared_type: str | None) -> Received:
        """Read the file to its end: keep it (unless the upload is refused), hash it and
        read its type. Refused: empty (422), too large (413), a type a case does not take
        or one its name or declared type contradicts (415): then nothing is kept."""
        kept = admission.refusal is None
        try:
            if kept:
                blob = self.blobs.write(chunks, admission.limit)
            else:
                measured = Measured(chunks, admission.limit)
                for _ in measured:  # read to the end, keep nothing
                    pass
                blob = measured.stored("")
        except BlobTooLarge:
            raise EvidenceTooLarge(admission.too_large, field="file") from None
        content_type = content_type_of(blob.head, whole=blob.size == len(blob.head))
        try:
            check_not_empty(blob.size)
            name = clean_filename(filename, content_type)
            check_claims(content_type, filename=name, declared_type=declared_type)
        except DomainError:
            if kept:
                self._forget(blob.blob_id)
            raise
        return Received(blob, content_type, name, kept)

    def file(self, admission: Admission, received: Received, *, kind: str, description: str,
             reference: str | None, actor: Actor, expected_version: int | None = None,
             request: RequestStamp | None = None) -> View:
        """Record the evidence with its file (``DisputeDesk.add_evidence``). A refusal
        deletes the kept bytes, and so does a request already carried out (the case
        answers as it left it; the bytes kept then stay)."""
        try:
            if admission.refusal is not None:
                view = self._replayed(admission, actor, request)
            else:
                view = self._desk.add_evidence(
                    admission.dispute_id, kind=kind, description=description,
                    reference=reference, actor=actor, file=received.facts(),
                    expected_version=expected_version, request=request,
                )
        except DomainError:
            self.discard(received)
            raise
        if view.get("replayed"):
            self.discard(received)
        return view

    def _replayed(self, admission: Admission, actor: Actor,
                  request: RequestStamp | None) -> View:
        """The answer of the request this one repeats; else its refusal."""
        assert admission.refusal is not None
        d = self._desk.dispute(admission.dispute_id)
        done = d.carried_out(request) if request is not None else None
        if done is None:
            raise admission.refusal
        view = self._desk.case_as_answered(admission.dispute_id, actor, done)
        view["position"] = None
        view["replayed"] = True
        return view

    def discard(self, received: Received) -> None:
        """Forget an upload's bytes (nothing to do for one that was not kept)."""
        if received.kept:
            self._forget(received.blob.blob_id)

    def _forget(self, blob_id: str) -> None:
        self.blobs.delete(blob_id)
        log.info("evidence.blob_discarded", blob_id=blob_id)

    def upload(self, dispute_id: UUID, chunks: Iterable[bytes], *, kind: str,
               description: str, reference: str | None = None, filename: str | None,
               declared_type: str | None = None, actor: Actor,
               expected_version: int | None = None,
               request: RequestStamp | None = None) -> View:
        """All the steps, for a caller that knows the description before the bytes."""
        admission = self.admit(dispute_id, actor, expected_version=expected_version,
                               may_be_retry=request is not None)
        received = self.receive(admission, chunks, filename=filename,
                                declared_type=declared_type)
        return self.file(admission, received, kind=kind, description=description,
                         reference=reference, actor=actor,
                         expected_version=expected_version, request=request)

    def download(self, dispute_id: UUID, evidence_id: str, actor: Actor,
                 via: Via | None = None) -> Download:
        """An evidence file of the case, for whoever may read the case (another buyer's
        or seller's case is 404, as for the case itself). A moderator's download is
        recorded in the access audit, ``via`` the channel it came through (default: the
        API), before a byte is sent; unrecorded, it is not served."""
        require(COMMAND_ROLES, "evidence_file", actor)
        d = self._desk.dispute(dispute_id)
        check_visible(d, actor)
        evidence = d.evidence.get(evidence_id)
        file = evidence.file if evidence is not None else None
        if file is None:
            problem = "no evidence" if evidence is None else "no file with the evidence"
            raise NotFound(f"{problem} {evidence_id} on dispute {dispute_id}")
        try:
            chunks = self.blobs.open(file.blob_id)
        except BlobMissing:
            log.error("evidence.blob_missing", dispute_id=str(dispute_id),
                      evidence_id=evidence_id, blob_id=file.blob_id)
            raise NotFound(f"the bytes of evidence {evidence_id} are no longer kept") from None
        try:
            self._desk.access_audit.read(actor, dispute_id, Read.EVIDENCE_FILE, via,
                                         evidence_id=evidence_id)
        except BaseException:
            _close(chunks)
            raise
        return Download(file.content_type, file.filename, file.size, file.sha256, chunks)


def _close(chunks: Iterator[bytes]) -> None:
    """Let go of a blob opened for a download that will not be sent."""
    close = getattr(chunks, "close", None)
    if callable(close):
        close()
