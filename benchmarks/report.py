"""One figure beside its baseline, and the table that prints them."""

from __future__ import annotations

import asyncio
import json
import platform
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    """A measured value and the baseline measured in the same run on the same machine."""

    benchmark: str
    metric: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    higher_is_better: bool = True
    target: float | None = None  # the ratio the issue asks for, if any
    #: the ratio of each round, when node and baseline ran in alternating rounds: the table shows
    #: their range, and a target is met only if every round meets it
    ratios: tuple[float, ...] = ()
    #: what the load client itself reached in the same run (a raw 202 responder), req/s
    ceiling: float | None = None

    @property
    def ratio(self) -> float:
        """value / baseline for rates, baseline / value for costs: above 1 beats the baseline."""
        if self.higher_is_better:
            return self.value / self.baseline_value if self.baseline_value else float("nan")
        return self.baseline_value / self.value if self.value else float("nan")

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return min(self.ratios) >= self.target if self.ratios else self.ratio >= self.target

    @property
    def ratio_range(self) -> str:
        if not self.ratios:
            return ""
        return f"{min(self.ratios):.2f}-{max(self.ratios):.2f} ({len(self.ratios)} rounds)"

    def as_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "meets_target": self.meets_target, "ratio_range": self.ratio_range}


def machine_summary() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def format_table(figures: Iterable[Figure]) -> str:
    """One row per figure; a target of alternating rounds is judged on every round (its range
    shown); the client ceiling is what the load client reached against a raw 202 responder."""
    rows = [
        (
            "benchmark",
            "metric",
            "value",
            "baseline",
            "baseline value",
            "ratio",
            "ratio range",
            "target",
            "client ceiling",
        )
    ]
    for f in figures:
        target = "" if f.target is None else f"{f.target:g} {'ok' if f.meets_target else 'MISSED'}"
        rows.append(
            (
                f.benchmark,
                f.metric,
                f"{f.value:,.1f} {f.unit}",
                f.baseline,
                f"{f.baseline_value:,.1f} {f.unit}",
                f"{f.ratio:.2f}",
                f.ratio_range,
                target,
                "" if f.ceiling is None else f"{f.ceiling:,.0f} req/s",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_standalone(measure: Callable[[bool], Awaitable[list[Figure]]]) -> None:
    """Entry point for ``python -m benchmarks.bench_x [--quick]``."""
    quick = "--quick" in sys.argv
    figures = asyncio.run(measure(quick))
    print(f"machine: {machine_summary()}")
    print(format_table(figures))
    if "--json" in sys.argv:
        print(json.dumps([f.as_json() for f in figures], indent=2))
