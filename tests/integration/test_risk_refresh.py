"""A running server sees risk periods that another process loads or ends, within the recheck time."""

from __future__ import annotations

from pathlib import Path

import pytest

from commutepass.kit import context
from commutepass.kit.context import App
from commutepass.loads.service import load_file
from tests.helpers import open_app, write_csv

HEADER = ("county", "level", "start", "end")


def test_risk_loaded_elsewhere_reaches_a_running_app(
    app: App, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.risk_map().by_county == {}  # cached now, empty
    other = open_app(tmp_path / "other", store_url)  # another process: the CLI, another worker
    try:
        load_file(
            other, "risk", write_csv(tmp_path / "r1.csv", HEADER, [("131028", "case", "2021-11-10", "")])
        )
        assert app.risk_map().by_county == {}  # within the recheck time the cached map is used
        monkeypatch.setattr(context, "RISK_RECHECK_SECONDS", 0.0)
        periods = app.risk_map().by_county["131028"]
        assert [(p.start.isoformat(), p.end) for p in periods] == [("2021-11-10", None)]
        # ending the period (same county, level, start; an end date) is seen too
        load_file(
            other,
            "risk",
            write_csv(tmp_path / "r2.csv", HEADER, [("131028", "case", "2021-11-10", "2021-11-25")]),
        )
        assert app.risk_map().by_county["131028"][0].end is not None
    finally:
        other.close()
