"""Shared by the benchmark scripts: the load average and each script's own section of RESULTS.md."""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def load_average() -> str:
    """The 1/5/15-minute load average, as `uptime` shows it."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values, linearly interpolated between the nearest ranks (nan when empty)."""
    if not values:
        return float("nan")
    v = sorted(values)
    i = (len(v) - 1) * q
    lo, hi = int(i), min(int(i) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (i - lo)


def write_section(script: str, body: str, path: Path = RESULTS) -> None:
    """Replace the `<!-- script:start -->` … `<!-- script:end -->` block of RESULTS.md with `body` (appended
    when absent); every other section is left as it is."""
    start, end = f"<!-- {script}:start -->", f"<!-- {script}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
