"""One measurement in a fresh process: ``python -m bench.simulate.measure MODE URL AS_OF``.

[CHANGES]. MODE is ``raw`` (the library reads and decodes every notification) or ``sim``
(``run_simulation`` with CHANGES, a JSON object). Prints one JSON line: wall
and CPU seconds of the pass alone (start-up excluded), events, peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime
from typing import Any

from application.simulator import build_request, run_simulation
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings

BATCH = 2000


def _rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident set, in MB.

    ``ru_maxrss`` is no good here: Linux keeps it across ``exec``, so a child
    of a big parent starts with the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_pass(app: Any) -> int:
    """What the library alone does to read and decode the whole log."""
    recorder, decode = app.recorder, app.mapper.to_domain_event
    events, start = 0, 1
    while True:
        notifications = recorder.select_notifications(start, BATCH)
        if not notifications:
            return events
        for notification in notifications:
            decode(notification)
        events += len(notifications)
        start = notifications[-1].id + 1


def main(argv: list[str]) -> None:
    mode, url, as_of_text = argv[:3]
    changes = json.loads(argv[3]) if len(argv) > 3 else {}
    configure_logging("json", "WARNING")
    as_of = datetime.fromisoformat(as_of_text)
    app = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=ManualClock(as_of)
    )
    try:
        rss_before = _rss_mb("VmRSS")
        summary: dict[str, Any] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        if mode == "raw":
            events = raw_pass(app)
        else:
            request = build_request(current=app.current_policy(), now=as_of, changes=changes)
            report = run_simulation(app, history_reader_for(app), request)
            events = report["events_read"]
            summary = {
                key: report[key]
                for key in (
                    "disputes", "events_replayed", "changed_disputes", "retimed_disputes",
                    "counterfactual_disputes", "baseline_matches_recorded", "mismatched_count",
                    "derived",
                )
            }
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        app.close()
    print(json.dumps({
        "mode": mode,
        "events": events,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "events_per_second": round(events / wall),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "report": summary,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
