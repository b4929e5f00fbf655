"""``make bench``: every benchmark in sequence, one table, the same figures as JSON.

``python -m benchmarks [--quick]`` runs each module's ``measure(quick)`` (signatures, inbox,
fan-out, growth, the branch tree's relaying, checking decision tallies, and the inbox, fan-out and
tallies again on PostgreSQL with several processes), prints one table (:func:`benchmarks.report.format_table`) under the
machine it ran on, and writes ``benchmarks/results/latest.json`` (figures, ratios, targets,
and each module's ``DETAILS``: query plans, raw latencies, status counts). ``--quick`` is a
short smoke run with small loads. A missed target prints MISSED and still exits 0; only a
crash exits non-zero.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
import sys
import time
from datetime import UTC, datetime

from benchmarks._support import RESULTS
from benchmarks.report import Figure, format_table, machine_summary

MODULES = [
    "bench_signatures",
    "bench_inbox",
    "bench_first_contact",
    "bench_fanout",
    "bench_growth",
    "bench_tree",
    "bench_decisions",
    "bench_postgres",
]


def _clean(value):
    """JSON without NaN (unavailable figures become null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


async def run(quick: bool) -> tuple[list[Figure], dict, dict]:
    figures: list[Figure] = []
    details: dict = {}
    seconds: dict = {}
    for name in MODULES:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        figures += await module.measure(quick)
        seconds[name] = round(time.perf_counter() - began, 1)
        print(f"   {seconds[name]:.0f} s", flush=True)
        details[name] = getattr(module, "DETAILS", {})
    return figures, details, seconds


def main() -> int:
    quick = "--quick" in sys.argv
    began = time.perf_counter()
    figures, details, seconds = asyncio.run(run(quick))
    total = time.perf_counter() - began
    machine = machine_summary()
    print()
    print(f"machine: {machine}")
    print(format_table(figures))
    missed = [f for f in figures if f.meets_target is False]
    print(
        f"\n{len(figures)} figures in {total:.0f} s; targets: "
        f"{sum(1 for f in figures if f.meets_target)} met, {len(missed)} MISSED"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("latest-quick.json" if quick else "latest.json")
    out.write_text(
        json.dumps(
            _clean(
                {
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": machine,
                    "quick": quick,
                    "seconds": {**seconds, "total": round(total, 1)},
                    "figures": [f.as_json() for f in figures],
                    "details": details,
                }
            ),
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(RESULTS.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
