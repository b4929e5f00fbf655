"""The top entries of a py-spy profile: ``python -m benchmarks.profile_top FILE [N]``.

Reads py-spy's collapsed stacks (``--format raw``: ``frame;frame;frame count`` per line) and
prints the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive), as shares of all samples, idle ones included (the event loop's ``select``).
"""

from __future__ import annotations

import sys
from collections import Counter


def top(path: str, n: int = 15) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8") as lines_of:
        lines = lines_of.readlines()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    out = [f"{total} samples", "self:"]
    out += [f"  {100 * c / total:5.1f} %  {f}" for f, c in own.most_common(n)]
    out.append("inclusive:")
    out += [f"  {100 * c / total:5.1f} %  {f}" for f, c in inclusive.most_common(n)]
    return "\n".join(out)


def _short(frame: str) -> str:
    """``func (path/to/module.py:12)`` -> ``func (module.py)``: lines merged."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    keep = "/".join(parts[-2:]) if parts and parts[-1] == "__init__.py" else parts[-1]
    return f"{name} ({keep})"


if __name__ == "__main__":
    print(top(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15))
