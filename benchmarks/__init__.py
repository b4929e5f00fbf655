"""Benchmarks: scripts that print figures beside a baseline measured in the same run.

Each ``bench_*.py`` module defines ``async def measure(quick: bool) -> list[Figure]`` and
can run alone (``python -m benchmarks.bench_x``); ``python -m benchmarks`` runs them all,
prints one table and writes the same figures as JSON. Timing never goes into a test.
"""
