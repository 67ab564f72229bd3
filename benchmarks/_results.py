"""Shared by the benchmark scripts: the load average and each script's own section of RESULTS.md."""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def load_average() -> str:
    """The 1/5/15-minute load average, as `uptime` shows it."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


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
