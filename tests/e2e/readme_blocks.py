"""The README's shell blocks, and one bash session that runs them as a reader would.

The convention: a block fenced ```sh is a command to run, and the README tests
run it; a block fenced ```text (a synopsis, a menu of targets, an example
that needs something of the reader's, such as a public webhook URL) is only
shown. Other fences (```json) are data. Every block names its fence.

The session (:func:`session_script`) runs the chosen blocks in order in one
``bash -euo pipefail``. Its ``curl`` fails on any HTTP error with the problem
document (``--fail-with-body``); a stream (``curl -N``) is read for a few
seconds and ends there. Its ``make`` is the real one but for two targets: ``make
test`` is not run (it is the suite these tests belong to), and ``make run``
starts the server in the background (stopping the one a previous block
started, as a reader stops it with Ctrl-C) and waits until it answers, as a
reader waits for it in another terminal. The README's ``http://127.0.0.1:8000``
becomes the server's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The fence of a block the tests run, and the fences of blocks they do not.
RUN_FENCE = "sh"
SHOWN_FENCES = frozenset({"text", "json"})
DOCUMENTED_BASE = "http://127.0.0.1:8000"
STEP_MARK = "### README block"
DONE_MARK = f"{STEP_MARK} done"

_FENCE = re.compile(r"^```(\S*)[ \t]*$")

#: Functions every session starts with (see the module docstring).
PREAMBLE = r"""
curl() {
  case " $* " in
    *" -N "*)
      local status=0
      command curl --fail-with-body --show-error --max-time 3 "$@" || status=$?
      [ "$status" -eq 28 ] || return "$status" ;;
    *) command curl --fail-with-body --show-error --max-time 20 "$@" ;;
  esac
}
readme_server_stop() {
  [ -n "${README_SERVER_PID:-}" ] && [ -s "$README_SERVER_PID" ] || return 0
  local group
  group="$(cat "$README_SERVER_PID")"
  : > "$README_SERVER_PID"
  kill -TERM -- "-$group" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 -- "-$group" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$group" 2>/dev/null || true
}
readme_server_start() {
  readme_server_stop
  echo "(make run: the server starts in the background on port $PORT)"
  setsid make run >> "$README_SERVER_LOG" 2>&1 < /dev/null &
  echo "$!" > "$README_SERVER_PID"
  for _ in $(seq 1 600); do
    command curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" && return 0
    sleep 0.1
  done
  echo "make run: no answer on port $PORT within 60 s" >&2
  tail -n 40 "$README_SERVER_LOG" >&2
  return 1
}
make() {
  case " $* " in
    *" test "*) echo "(make $*: not run here: these tests are part of it)" ;;
    *" run "*) readme_server_start ;;
    *) command make "$@" ;;
  esac
}
trap readme_server_stop EXIT
"""


@dataclass(frozen=True)
class Block:
    """One fenced block: the line of its opening fence, the fence, its text, its section."""

    line: int
    fence: str
    text: str
    section: str

    @property
    def runs(self) -> bool:
        return self.fence == RUN_FENCE


def fenced_blocks(readme: str) -> list[Block]:
    """Every fenced block of ``readme``, in order, with the ``## `` section it is in."""
    blocks: list[Block] = []
    section = ""
    lines = readme.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        opening = _FENCE.match(line)
        if opening is None:
            index += 1
            continue
        fence_line = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        assert index < len(lines), f"README line {fence_line}: the block is never closed"
        blocks.append(Block(fence_line, opening.group(1), "\n".join(body) + "\n", section))
        index += 1
    return blocks


def runnable_blocks(readme: str, section: str | None = None) -> list[Block]:
    """The ```sh blocks of ``readme`` (of one ``## `` section, if named), in order."""
    return [block for block in fenced_blocks(readme)
            if block.runs and (section is None or block.section == section)]


def session_script(blocks: list[Block], base: str) -> str:
    """One bash script: :data:`PREAMBLE`, then each block in turn, announced, against ``base``."""
    parts = [PREAMBLE]
    for number, block in enumerate(blocks, 1):
        parts.append(f'echo "{STEP_MARK} {number} (README line {block.line})"\n')
        parts.append(block.text.replace(DOCUMENTED_BASE, base))
    parts.append(f'echo "{DONE_MARK}"\n')
    return "".join(parts)
