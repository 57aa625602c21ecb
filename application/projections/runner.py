"""Runs the lanes of the served read-model versions, and hands finished rebuilds over.

Normally one lane (``l1``) carries every served version. A rebuild fills new
versions in a lane of its own; once it is ``ready`` the runner (the one process
holding the ``runner`` lock) hands it over:

- if the rebuilt versions replace everything a live lane carried, they simply
  become current in their own lane and the old lane is dropped;
- otherwise the two lanes are brought to the same position and the new
  versions join the live lane, in the same transaction that makes them current.

Either way the API switches from the old version to the complete new one in one
transaction, and never sees a half-built version.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from application.projections.catalog import READ_MODELS
from application.projections.engine import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_SIZE,
    CatchUp,
    overlapping_writer,
)
from application.projections.model import ReadModel
from application.projections.ports import EventSource, ReadModelStore
from application.projections.records import CURRENT, READY, VersionInfo

RUNNER_LOCK = "runner"
BUILD_LOCK = "build"
STALE = "stale"

log = structlog.get_logger("disputedesk.projections")


def lanes_of(
    versions: Sequence[VersionInfo], status: str = CURRENT
) -> dict[str, list[tuple[ReadModel, int]]]:
    lanes: dict[str, list[tuple[ReadModel, int]]] = {}
    for info in versions:
        model = READ_MODELS.get(info.name)
        if info.status == status and model is not None:
            lanes.setdefault(info.lane, []).append((model, info.version))
    return lanes


class Projector:
    """The live lanes of one store; only the holder of ``RUNNER_LOCK`` should step it."""

    def __init__(
        self,
        source: EventSource,
        store: ReadModelStore,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.source = source
        self.store = store
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.engines: dict[str, CatchUp] = {}
        self.load()

    def load(self) -> None:
        """(Re)read which versions are served and in which lanes."""
        versions = self.store.versions()
        for info in versions:
            model = READ_MODELS.get(info.name)
            if info.status == CURRENT and model is not None and info.schema != model.schema:
                # Its tables have the old shape: stop serving it rather than
                # write the new shape into them. A rebuild makes a new version.
                self.store.set_status(info.name, info.version, STALE)
                log.warning(
                    "projections.schema_changed",
                    read_model=info.name,
                    version=info.version,
                    detail=f"run `disputedesk project --rebuild {info.name}`",
                )
        engines: dict[str, CatchUp] = {}
        for lane, models in lanes_of(self.store.versions()).items():
            engine = self.engines.get(lane)
            if engine is None:
                engine = CatchUp(self.source, self.store, lane, models, cache_size=self.cache_size)
            else:
                engine.models = models  # same lane, same states: keep the cache
            engines[lane] = engine
        self.engines = engines

    def positions(self) -> dict[str, int]:
        return {lane: engine.position for lane, engine in self.engines.items()}

    def step(self) -> int:
        """One batch for every live lane. Returns the notifications read."""
        return sum(engine.step(self.batch_size) for engine in self.engines.values())

    def catch_up(self) -> int:
        """Run every live lane to the head (for a backlog: a first start, a long stop),
        writing through a second connection while the next batch is folded where
        that pays (``ReadModelStore.overlap_writes``)."""
        total = 0
        for engine in list(self.engines.values()):
            with overlapping_writer(self.store) as writer:
                total += engine.run(self.batch_size, until_caught_up=False, writer=writer)
        return total

    def reset(self) -> None:
        """After an error: drop the caches and re-read positions and versions."""
        for engine in self.engines.values():
            engine.reload()
        self.load()

    # ---- hand-over of rebuilt versions ---------------------------------------------

    def handover(self) -> bool:
        """Make every ready rebuild current. Returns whether anything switched."""
        ready = lanes_of(self.store.versions(), READY)
        if not ready or not self.store.try_lock(BUILD_LOCK):
            return False
        try:
            for lane, models in ready.items():
                self._switch(lane, models)
        finally:
            self.store.unlock(BUILD_LOCK)
        self.load()
        return True

    def _switch(self, lane: str, models: list[tuple[ReadModel, int]]) -> None:
        versions = self.store.versions()
        names = {model.name for model, _ in models}
        current = [v for v in versions if v.status == CURRENT]
        retire = [(v.name, v.version) for v in current if v.name in names]
        staying = {v.lane for v in current if v.name not in names}
        if len(staying) != 1:
            # Nothing else would stay in a lane we could join: take over as a lane,
            # first catching up with the versions it replaces (positions never regress).
            build = CatchUp(self.source, self.store, lane, models, cache_size=self.cache_size)
            ahead = max(
                (self.store.lane_position(v.lane) for v in current if v.name in names),
                default=0,
            )
            if build.position < ahead:
                build.run(self.batch_size, stop=ahead, until_caught_up=False, release=True)
            self.store.switch(lane, retire=retire)
            emptied = {v.lane for v in current if v.name in names} - staying
            for old in emptied:
                self.store.drop_lane(old)
                self.engines.pop(old, None)
            log.info("projections.switched", lane=lane, versions=_describe(models))
            return
        (target,) = staying
        live = self.engines.get(target) or CatchUp(
            self.source, self.store, target, lanes_of(versions)[target], cache_size=self.cache_size
        )
        build = CatchUp(self.source, self.store, lane, models, cache_size=self.cache_size)
        # Bring the two lanes to one position, then join them in one transaction.
        if live.position < build.position:
            live.run(self.batch_size, stop=build.position, until_caught_up=False)
        elif build.position < live.position:
            build.run(self.batch_size, stop=live.position, until_caught_up=False, release=True)
        self.store.switch(lane, retire=retire, merge_into=target, position=live.position)
        self.store.drop_lane(lane)
        log.info(
            "projections.switched",
            lane=target,
            position=live.position,
            versions=_describe(models),
        )


def _describe(models: Sequence[tuple[ReadModel, int]]) -> str:
    return ", ".join(f"{model.name} v{version}" for model, version in models)
