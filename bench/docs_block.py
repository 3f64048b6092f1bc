"""The one way a benchmark writes its results into docs/BENCHMARKS.md: its block between two
markers is replaced (or, the first time, appended after ``after``'s block or at the end)."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nMeasured on the project's machine; each section says what was measured, on which "
    "data, and the command that reproduces it.\n"
)


def write_block(section: str, start: str, end: str, *, path: Path = DOCS, after: str | None = None) -> None:
    """Put ``section`` (which begins with ``start`` and ends with ``end``) into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    elif after is not None and after in text:
        cut = text.index(after) + len(after)
        text = text[:cut] + "\n\n" + section + text[cut:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
