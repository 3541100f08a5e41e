"""Small-cell suppression: no shown figure counts fewer than k people, and no shown total minus
the shown cells gives back a suppressed one (nor pins the suppressed ones down)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commutepass.domain.privacy import suppress


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    table = suppress([1, 40, 12, 0], 5)
    assert table.counts == (None, 40, None, 0)
    assert table.total == 53  # 53 - 40 - 0 = 13, shared by two unknown cells


def test_the_total_is_withheld_when_the_difference_would_name_few_people() -> None:
    assert suppress([1, 1, 30], 5) == suppress([1, 1, 30], 5)
    table = suppress([1, 1, 30], 5)
    assert table.counts == (None, None, 30) and table.total is None  # 32 - 30 = 2: two people
    assert suppress([3], 5).total is None and suppress([3], 5).counts == (None,)
    assert suppress([7, 9], 5).counts == (7, 9) and suppress([7, 9], 5).total == 16


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=8), st.integers(min_value=1, max_value=10))
def test_no_cell_or_difference_tells_about_fewer_than_k(counts: list[int], k: int) -> None:
    table = suppress(counts, k)
    hidden = [n for n, shown in zip(counts, table.counts, strict=True) if shown is None]
    for n, shown in zip(counts, table.counts, strict=True):
        assert shown is None or shown == n
        assert shown is None or shown == 0 or shown >= k, "every shown figure counts 0 or at least k"
    if table.total is not None:
        assert table.total == sum(counts) >= k
        if hidden:
            assert len(hidden) >= 2 and sum(hidden) >= k, "total minus the shown parts is no small cell"
