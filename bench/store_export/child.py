"""One measurement in a fresh process: the raw read of the log, then the export, then
the import's verification pass over the file; prints one JSON line.

    python -m bench.store_export.child URL FILE
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from application.log_import_file import scan
from application.store_export import PAGE, StoreExport
from infrastructure.database_url import parse_database_url
from infrastructure.store_export_store import StoreExportSource, open_event_store


def _raw_read(source: StoreExportSource) -> tuple[int, float, float]:
    """Every notification in the export's pages, doing nothing with them."""
    head = source.head()
    started, cpu = time.perf_counter(), time.process_time()
    position = read = 0
    while position < head:
        page = source.page(position + 1, PAGE, head)
        if not page:
            break
        read += len(page)
        position = page[-1].id
    return read, time.perf_counter() - started, time.process_time() - cpu


def main(url_text: str, file: str) -> None:
    url = parse_database_url(url_text)
    store = open_event_store(url)
    source = StoreExportSource(store, url)
    try:
        read, read_seconds, read_cpu = _raw_read(source)
        started, cpu = time.perf_counter(), time.process_time()
        with Path(file).open("wb") as out:
            summary = StoreExport(source).write(out, datetime.now(UTC), time.perf_counter)
        export_seconds, export_cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        source.close()
        store.close()
    started = time.perf_counter()
    with Path(file).open("rb") as lines:
        facts = scan(lines)
    scan_seconds = time.perf_counter() - started
    print(json.dumps({
        "events": summary.events, "raw_read_events": read,
        "raw_read_seconds": round(read_seconds, 2),
        "raw_read_events_per_second": round(read / read_seconds),
        "raw_read_cpu_seconds": round(read_cpu, 2),
        "export_seconds": round(export_seconds, 2),
        "export_events_per_second": round(summary.events / export_seconds),
        "export_cpu_seconds": round(export_cpu, 2),
        "ratio": round((summary.events / export_seconds) / (read / read_seconds), 3),
        "file_mb": round(Path(file).stat().st_size / 1e6, 1),
        "verify_events_per_second": round(facts.events / scan_seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
