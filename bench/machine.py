"""How busy the whole machine was over a stretch of a benchmark, from ``/proc/stat``.

A benchmark on a small shared machine is often bound by its CPUs, not by the
product: printing the machine's busy share (and how much of it the kernel
took, switching threads) beside a rate shows which it was.
"""

from __future__ import annotations

import dataclasses
import os
import resource
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MachineUse", "Reading", "between", "describe", "group_cpu_seconds", "own_cpu_seconds",
    "postgres_cpu_seconds", "process_cpu_seconds", "read",
]


@dataclass(frozen=True)
class Reading:
    """The machine's CPU counters (clock ticks) and context switches since boot."""

    user: int
    system: int
    idle: int
    steal: int
    total: int
    switches: int


@dataclass(frozen=True)
class MachineUse:
    """Shares of all CPUs' time between two readings, and context switches per second."""

    cpus: int
    busy_pct: float
    user_pct: float
    system_pct: float
    steal_pct: float
    switches_per_s: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def describe(figures: Mapping[str, float]) -> str:
    """One line of :meth:`MachineUse.as_dict`'s figures (as a report holds them)."""
    return (f"CPU busy {figures['busy_pct']:.0f}% of {figures['cpus']:.0f} CPUs (user "
            f"{figures['user_pct']:.0f}, system {figures['system_pct']:.0f}, stolen "
            f"{figures['steal_pct']:.0f}), {figures['switches_per_s']:,.0f} context switches/s")


def read(stat: Path = Path("/proc/stat")) -> Reading | None:
    """The counters now; None where the system has no ``/proc/stat``."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    cpu = [int(v) for v in lines[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    user, nice, system, idle, iowait, irq, softirq, steal = (cpu + [0] * 8)[:8]
    switches = next((int(line.split()[1]) for line in lines if line.startswith("ctxt ")), 0)
    return Reading(user=user + nice, system=system + irq + softirq, idle=idle + iowait,
                   steal=steal, total=user + nice + system + idle + iowait + irq + softirq + steal,
                   switches=switches)


def between(before: Reading | None, after: Reading | None, seconds: float) -> MachineUse | None:
    """What the machine did from ``before`` to ``after`` (``seconds`` apart)."""
    if before is None or after is None or after.total <= before.total or seconds <= 0:
        return None
    span = after.total - before.total

    def pct(a: int, b: int) -> float:
        return round((a - b) / span * 100, 1)

    return MachineUse(
        cpus=os.cpu_count() or 1,
        busy_pct=round(100 - (after.idle - before.idle) / span * 100, 1),
        user_pct=pct(after.user, before.user), system_pct=pct(after.system, before.system),
        steal_pct=pct(after.steal, before.steal),
        switches_per_s=round((after.switches - before.switches) / seconds, 0))


# ---- CPU time by process -------------------------------------------------------------


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid``."""
    return sum(process_cpu_seconds(pgid).values())


def process_cpu_seconds(pgid: int) -> dict[int, float]:
    """User + system CPU seconds of each live process in process group ``pgid``."""
    return _cpu_seconds(lambda comm, pgrp: pgrp == pgid)


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of the live PostgreSQL server processes on this machine."""
    return sum(_cpu_seconds(lambda comm, pgrp: comm in ("postgres", "postmaster")).values())


def _cpu_seconds(counts: Callable[[str, int], bool]) -> dict[int, float]:
    """User + system CPU seconds of each live process ``counts(comm, pgrp)`` accepts."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat.rsplit(")", 1)[1].split()
        # after "pid (comm)": state ppid pgrp session ... utime(12th) stime(13th)
        if counts(comm, int(fields[2])):
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def own_cpu_seconds() -> float:
    """This process's CPU seconds: the load generator's cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
