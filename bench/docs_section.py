"""Write a benchmark's table into docs/benchmarks.md, between its own markers."""

from __future__ import annotations

import re
import resource
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(mark: str, table: str) -> None:
    """Replace the text between ``<!-- mark:start -->`` and ``<!-- mark:end -->`` (or append it)."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {mark}:start -->.*<!-- {mark}:end -->", re.S)
    text = (
        pattern.sub(lambda _m: table, text) if pattern.search(text) else text.rstrip() + "\n\n" + table + "\n"
    )
    DOCS.write_text(text, encoding="utf-8")


def publish(mark: str, lines: list[str], *, write_docs: bool) -> None:
    """Frame the lines with the markers and the peak memory, print them, and write them to the docs."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = "\n".join(
        [
            f"<!-- {mark}:start -->",
            *lines,
            "",
            f"Peak memory of the benchmark process: {peak_mb:,.0f} MB.",
            f"<!-- {mark}:end -->",
        ]
    )
    print(table)
    if write_docs:
        write_section(mark, table)
