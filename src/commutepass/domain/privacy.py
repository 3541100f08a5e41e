"""Small-cell suppression of the analysts' aggregates (pure): no figure tells about fewer than
``k`` people, and no total minus its shown parts gives a suppressed figure back.

The rules, per table (the cells of one breakdown and its total):

1. primary: a count of 1 to k-1 is suppressed (0 is shown: it says nobody);
2. secondary: if exactly one cell is suppressed, the smallest other non-zero cell is suppressed
   too, so the total minus the shown cells is a sum of two unknowns;
3. the total is shown only if it is at least k and the suppressed cells together hold at least k
   (otherwise the difference would narrow them down to a few people); else it is withheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_K = 5


@dataclass(frozen=True, slots=True)
class Table:
    counts: tuple[int | None, ...]
    """The cells in the order given; None where suppressed."""
    total: int | None
    """The table's total; None where withheld."""


def suppress(counts: Sequence[int], k: int = DEFAULT_K) -> Table:
    if k < 1:
        raise ValueError("k must be at least 1")
    hidden = {i for i, n in enumerate(counts) if 0 < n < k}
    if len(hidden) == 1:
        others = sorted((n, i) for i, n in enumerate(counts) if n > 0 and i not in hidden)
        if others:
            hidden.add(others[0][1])
    total = sum(counts)
    hidden_sum = sum(counts[i] for i in hidden)
    shown_total = total if total >= k and (not hidden or (len(hidden) >= 2 and hidden_sum >= k)) else None
    return Table(tuple(None if i in hidden else n for i, n in enumerate(counts)), shown_total)


def suppress_response_times(row: Mapping[str, Any], k: int = DEFAULT_K) -> dict[str, Any]:
    """One appeal type's response times as an analyst may see them: times and counts of fewer
    than ``k`` appeals would describe single people's cases, so they are withheld (None)."""
    out = dict(row)
    if 0 < out["answered"] < k:
        out.update(answered=None, answered_within_target=None, median_hours=None, slowest_hours=None)
    if 0 < out["open"] < k:
        out.update(open=None, open_past_target=None)
    elif out["open_past_target"] and 0 < out["open_past_target"] < k:
        out.update(open_past_target=None)
    return out
