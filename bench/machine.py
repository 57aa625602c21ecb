"""How busy the whole machine was over a stretch of a benchmark, from ``/proc/stat``.

A benchmark on a small shared machine is often bound by its CPUs, not by the
product: printing the machine's busy share (and how much of it the kernel
took, switching threads) beside a rate shows which it was.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MachineUse", "Reading", "between", "describe", "read"]


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
