"""The read models this application maintains, by name."""

from __future__ import annotations

from collections.abc import Mapping

from application.projections.disputes import DisputesView
from application.projections.metrics import Metrics
from application.projections.model import ReadModel
from application.projections.scorecard import Scorecard

READ_MODELS: Mapping[str, ReadModel] = {
    model.name: model for model in (DisputesView(), Scorecard(), Metrics())
}
ALL = "all"


def initial_versions() -> list[tuple[str, int]]:
    """(name, schema) of every read model, for ``ReadModelStore.setup``."""
    return [(model.name, model.schema) for model in READ_MODELS.values()]


def resolve(name: str) -> list[ReadModel]:
    """The read models a rebuild of ``name`` covers (``all``: every one)."""
    if name == ALL:
        return list(READ_MODELS.values())
    if name not in READ_MODELS:
        known = ", ".join([*READ_MODELS, ALL])
        raise ValueError(f"unknown read model {name!r}; known: {known}")
    return [READ_MODELS[name]]
