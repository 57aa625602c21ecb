"""The machine's busy share a benchmark prints is read right from ``/proc/stat``."""

from __future__ import annotations

from pathlib import Path

from bench import machine

STAT = """cpu  {user} 0 {system} {idle} 0 0 0 {steal} 0 0
cpu0 1 0 1 1 0 0 0 0 0 0
intr 1 2 3
ctxt {ctxt}
btime 1
"""


def _stat(tmp_path: Path, name: str, **counters: int) -> Path:
    path = tmp_path / name
    path.write_text(STAT.format(**counters))
    return path


def test_the_busy_share_user_system_stolen_and_switches_between_two_readings(
    tmp_path: Path,
) -> None:
    before = machine.read(_stat(tmp_path, "a", user=100, system=50, idle=800, steal=0, ctxt=1000))
    after = machine.read(_stat(tmp_path, "b", user=160, system=80, idle=900, steal=10, ctxt=9000))

    use = machine.between(before, after, 2.0)

    assert use is not None
    # 200 ticks in all: 60 user, 30 system, 100 idle, 10 stolen
    assert (use.busy_pct, use.user_pct, use.system_pct, use.steal_pct) == (50.0, 30.0, 15.0, 5.0)
    assert use.switches_per_s == 4000
    line = machine.describe(use.as_dict())
    assert "CPU busy 50%" in line and "4,000 context switches/s" in line


def test_nothing_is_claimed_without_proc_stat_or_without_time_passing(tmp_path: Path) -> None:
    assert machine.read(tmp_path / "missing") is None
    same = machine.read(_stat(tmp_path, "a", user=1, system=1, idle=1, steal=0, ctxt=1))
    assert machine.between(same, same, 1.0) is None
    assert machine.between(None, same, 1.0) is None
