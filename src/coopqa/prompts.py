"""Prompt files: `load_prompt("answer")` reads `prompts/answer.md` (kept out of the code so they can be reviewed)."""

from __future__ import annotations

from functools import cache

from coopqa import settings


@cache
def load_prompt(name: str) -> str:
    """The text of `prompts/<name>.md` (trailing whitespace stripped)."""
    path = settings.PROMPTS_DIR / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FileNotFoundError(f"prompt file {path} is missing") from None
