"""Rebuild a read model from zero into a new version while the old one keeps serving.

``rebuild(...)`` creates the new version's tables in a lane of their own (or
resumes an unfinished rebuild of the same read models), catches it up with the
whole notification log, builds its indexes, marks it ready and then has it
handed over (see ``runner``): by the running worker if there is one, else by
itself. A schema change is the same operation: the new version gets the new shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from application.projections.catalog import resolve
from application.projections.engine import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_SIZE,
    CatchUp,
    Progress,
    overlapping_writer,
)
from application.projections.model import ReadModel
from application.projections.ports import EventSource, ReadModelStore
from application.projections.records import BUILDING, CURRENT, READY, RETIRED, VersionInfo
from application.projections.runner import BUILD_LOCK, RUNNER_LOCK, STALE, Projector

log = structlog.get_logger("disputedesk.projections")


class RebuildError(Exception):
    """The rebuild could not start or finish; the message says why and what to do."""


@dataclass(frozen=True)
class RebuildResult:
    versions: dict[str, int]
    events: int
    seconds: float
    switched: bool


def rebuild(
    source: EventSource,
    store: ReadModelStore,
    name: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache_size: int = DEFAULT_CACHE_SIZE,
    on_batch: Callable[[Progress], None] | None = None,
    handover_timeout: float = 60.0,
) -> RebuildResult:
    try:
        models = resolve(name)
    except ValueError as error:
        raise RebuildError(str(error)) from None
    if not store.try_lock(BUILD_LOCK):
        raise RebuildError("another rebuild is running; wait for it to finish")
    started = time.monotonic()
    try:
        lane, versions, status = _prepare(store, models)
        engine = CatchUp(
            source, store, lane, [(m, versions[m.name]) for m in models], cache_size=cache_size
        )
        events = 0
        if status == BUILDING:
            log.info("projections.rebuild_started", lane=lane, versions=versions,
                     position=engine.position)
            # Where it pays, the database writes batch k while Python folds k+1.
            with overlapping_writer(store) as writer:
                events = engine.run(
                    batch_size, until_caught_up=True, on_batch=on_batch, writer=writer,
                    release=True,
                )
            for model in models:
                store.finish_build(model.name, versions[model.name])
            log.info("projections.rebuild_built", lane=lane, versions=versions,
                     position=engine.position, events=events)
    finally:
        store.unlock(BUILD_LOCK)
    switched = _hand_over(source, store, versions, batch_size, cache_size, handover_timeout)
    return RebuildResult(versions, events, time.monotonic() - started, switched)


def _prepare(store: ReadModelStore, models: list[ReadModel]) -> tuple[str, dict[str, int], str]:
    """The lane and versions to build: an unfinished rebuild of the same models, or new."""
    names = {model.name for model in models}
    existing = store.versions()
    unfinished: dict[str, list[VersionInfo]] = {}
    for info in existing:
        if info.status in (BUILDING, READY):
            unfinished.setdefault(info.lane, []).append(info)
    for lane, infos in unfinished.items():
        if {i.name for i in infos} == names and all(
            i.schema == m.schema for i in infos for m in models if m.name == i.name
        ):
            status = BUILDING if any(i.status == BUILDING for i in infos) else READY
            log.info("projections.rebuild_resumed", lane=lane)
            return lane, {i.name: i.version for i in infos}, status
        # A different, abandoned rebuild: throw it away.
        for info in infos:
            store.drop_version(info.name, info.version)
        store.drop_lane(lane)
        log.info("projections.rebuild_abandoned", lane=lane, versions=[i.name for i in infos])
    for info in existing:
        if info.name in names and info.status in (RETIRED, STALE):
            store.drop_version(info.name, info.version)
    lane = store.new_lane()
    versions: dict[str, int] = {}
    for model in models:
        version = 1 + max((i.version for i in existing if i.name == model.name), default=0)
        store.begin_build(model.name, version, model.schema, lane)
        versions[model.name] = version
    return lane, versions, BUILDING


def _hand_over(
    source: EventSource,
    store: ReadModelStore,
    versions: dict[str, int],
    batch_size: int,
    cache_size: int,
    timeout: float,
) -> bool:
    """Switch now if no worker runs; else wait for the running worker to switch."""
    deadline = time.monotonic() + timeout
    while True:
        current = {(v.name, v.version) for v in store.versions() if v.status == CURRENT}
        if set(versions.items()) <= current:
            return True
        if store.try_lock(RUNNER_LOCK):
            try:
                Projector(source, store, batch_size=batch_size, cache_size=cache_size).handover()
            finally:
                store.unlock(RUNNER_LOCK)
            current = {(v.name, v.version) for v in store.versions() if v.status == CURRENT}
            if set(versions.items()) <= current:
                return True
        if time.monotonic() > deadline:
            log.warning(
                "projections.handover_pending",
                versions=versions,
                detail="the running worker will switch to the new versions when it next runs",
            )
            return False
        time.sleep(0.1)
