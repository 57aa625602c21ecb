"""One measured projection run in a process of its own (clean peak RSS).

``python -m bench.projections.child URL MODE [--batch-size N] [--stop S]`` prints
one JSON line. Modes:

- ``rebuild``: ``disputedesk project --rebuild all``'s code path (new versions of
  every read model from zero, then the switch), optionally only up to ``--stop``;
- ``per-event``: the same engine, one transaction per event, up to ``--stop``
  (the baseline: what a per-event projection runner does).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from application.projections.catalog import READ_MODELS
from application.projections.engine import CatchUp, overlapping_writer
from application.projections.rebuild import rebuild
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from infrastructure.stores import open_store
from infrastructure.stores.runtime import projection_source


def _new_lane(store: Any) -> tuple[str, list[tuple[Any, int]]]:
    lane = store.new_lane()
    models = []
    for model in READ_MODELS.values():
        version = 1 + max((v.version for v in store.versions() if v.name == model.name),
                          default=0)
        store.begin_build(model.name, version, model.schema, lane)
        models.append((model, version))
    return lane, models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("mode", choices=("rebuild", "per-event"))
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--stop", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="per-event: stop early after this long (the rate is the point)")
    args = parser.parse_args(argv)

    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": args.url})
    app = build_application(settings)
    source = projection_source(app)
    store = open_store(settings.database, application_name=app.name)
    started, cpu = time.perf_counter(), time.process_time()
    position = None
    try:
        if args.mode == "rebuild" and args.stop is None:
            events = rebuild(source, store, "all", batch_size=args.batch_size).events
        else:
            lane, models = _new_lane(store)
            engine = CatchUp(source, store, lane, models)
            if args.mode == "per-event":
                events = 0
                deadline = started + (args.max_seconds or float("inf"))
                while engine.position < args.stop and (n := engine.step(1, args.stop)):
                    events += n
                    if time.perf_counter() > deadline:
                        break
            else:
                with overlapping_writer(store) as writer:  # as a rebuild does
                    events = engine.run(args.batch_size, stop=args.stop,
                                        until_caught_up=False, writer=writer, release=True)
            position = engine.position
            for model, version in models:
                store.drop_version(model.name, version)
            store.drop_lane(lane)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    finally:
        store.close()
        app.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    json.dump(
        {
            "mode": args.mode,
            "events": events,
            "position": position,
            "seconds": round(seconds, 3),
            "events_per_second": round(events / seconds) if seconds else None,
            "cpu_seconds": round(cpu_seconds, 3),
            "events_per_cpu_second": round(events / cpu_seconds) if cpu_seconds else None,
            "batch_size": 1 if args.mode == "per-event" else args.batch_size,
            "peak_rss_mb": round(peak_kib / 1024, 1),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
