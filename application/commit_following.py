"""What a :class:`~application.disputes.DisputeDesk` knows of commits to its store:
the store's commit counter, its own commits counted the moment they return, and
other workers' commits to the disputes its commands start from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import Application

from application.own_commits import OwnCommits
from application.ports import CommitCounter, StoredSince
from application.read_cache import ReadCache

if TYPE_CHECKING:
    from application.dispute_store import Disputes


class FollowsCommits(Application[UUID]):
    """The application's base: ``save`` tells case reads of this process's commits."""

    _commits: OwnCommits | None = None
    _read_cache: bool = True
    if TYPE_CHECKING:
        _disputes: Disputes

        def _wire(self, disputes: Disputes, cache: ReadCache | None) -> None: ...

    def follow_commits(self, commits: CommitCounter) -> None:
        """Case reads trust ``commits`` (made once the store's recorder exists) from now on."""
        if self._commits is not None:
            self._commits.close()
        self._commits = OwnCommits(commits)
        self._wire(self._disputes,
                   ReadCache(self._disputes, self._commits) if self._read_cache else None)

    def share_reads(self, stored: StoredSince) -> None:
        """Concurrent commands learn what other workers recorded since the disputes they
        start from in shared queries of ``stored`` (:mod:`application.grouped_reads`)."""
        self._disputes.share_reads(stored)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """The library's save; then case reads in this process know it was committed."""
        recordings = super().save(*objs, **kwargs)
        if self._commits is not None:
            self._commits.committed(_cases_of(objs))
        return recordings


def _cases_of(objs: tuple[Any, ...]) -> list[UUID] | None:
    """The ids of the aggregates saved (given whole or as their events); None if any
    object names none."""
    ids = [getattr(o, "originator_id", None) or getattr(o, "id", None) for o in objs]
    cases = [i for i in ids if isinstance(i, UUID)]
    return cases if len(cases) == len(ids) else None
