"""The access audit's answer: a page of reads, newest first (``GET /v1/audit/access``)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from application.access_audit import AccessEntry
from interface.http.schemas import UtcInstant

__all__ = ["AccessAuditPage", "AccessRead", "access_read"]

ReadName = Literal["history", "evidence_file"]
ChannelName = Literal["api", "console"]


class AccessRead(Struct):
    """One moderator's read of a case's history or of one of its evidence files."""

    id: Annotated[int, Meta(description="The entry's place in the audit: larger is later")]
    at: Annotated[UtcInstant, Meta(description="When the read was served")]
    actor_role: Annotated[str, Meta(description="Who read: their role (`moderator`)")]
    actor_id: Annotated[str, Meta(description="Who read: their id (the token's subject)")]
    dispute_id: Annotated[str, Meta(description="The case read")]
    read: Annotated[ReadName, Meta(
        description="What was read: the case's full history, or an evidence file")]
    evidence_id: Annotated[str | None, Meta(
        description="The evidence item whose file was read (null for the history)")]
    channel: Annotated[ChannelName, Meta(
        description="How: the HTTP API, or the moderator console")]
    request_id: Annotated[str | None, Meta(
        description="The request's id (`X-Request-ID`), to find its log lines")]


class AccessAuditPage(Struct):
    """One page of the access audit, newest first."""

    data: list[AccessRead]
    next_cursor: Annotated[str | None, Meta(
        description="Pass as `cursor` for the next (older) page; null on the last")]


def access_read(entry: AccessEntry) -> AccessRead:
    record = entry.record
    return AccessRead(
        id=entry.seq, at=record.at, actor_role=record.actor_role, actor_id=record.actor_id,
        dispute_id=str(record.dispute_id), read=record.read.value,
        evidence_id=record.evidence_id, channel=record.channel.value,
        request_id=record.request_id,
    )
