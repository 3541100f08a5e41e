"""How well identification matches the truth: precision, recall, class agreement, per behaviour.

Pure scoring over (behaviour, expected class, found class) triples, so the CLI (against the
store) and the benchmark (against the job's output at Beijing scale) score alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from commutepass.domain.errors import InputError

CLASSES = ("none", "daily", "weekly")
TRUTH_COLUMNS = ("id_number", "behaviour", "expected_class")


@dataclass
class Score:
    people: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    same_class: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(expected, found) → people; classes none/daily/weekly."""

    def add(self, expected: str, found: str) -> None:
        self.people += 1
        self.confusion[(expected, found)] += 1
        if expected != "none" and found != "none":
            self.true_positive += 1
            self.same_class += expected == found
        elif found != "none":
            self.false_positive += 1
        elif expected != "none":
            self.false_negative += 1

    @property
    def precision(self) -> float | None:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else None

    @property
    def recall(self) -> float | None:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else None

    @property
    def class_agreement(self) -> float | None:
        """Among people rightly found to commute, the share with the right class (daily/weekly)."""
        return self.same_class / self.true_positive if self.true_positive else None

    @property
    def accuracy(self) -> float:
        right = sum(n for (e, f), n in self.confusion.items() if e == f)
        return right / self.people if self.people else 0.0

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "people": self.people,
            "precision": r(self.precision),
            "recall": r(self.recall),
            "class_agreement": r(self.class_agreement),
            "accuracy": r(self.accuracy),
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
        }

    def matrix(self) -> dict[str, dict[str, int]]:
        return {e: {f: self.confusion[(e, f)] for f in CLASSES} for e in CLASSES}


@dataclass
class Evaluation:
    overall: Score
    by_behaviour: dict[str, Score]


def score(rows: Iterable[tuple[str, str, str]]) -> Evaluation:
    """Score (behaviour, expected class, found class) triples; an empty class means none."""
    overall = Score()
    by_behaviour: dict[str, Score] = {}
    for behaviour, expected, found in rows:
        e, f = expected or "none", found or "none"
        overall.add(e, f)
        by_behaviour.setdefault(behaviour, Score()).add(e, f)
    return Evaluation(overall, dict(sorted(by_behaviour.items())))


def read_truth(path: Path) -> pa.Table:
    """A truth file (CSV or Parquet) with at least id_number, behaviour, expected_class."""
    if not path.is_file():
        raise InputError("truth", f"{path}: no such file", f"{path}：文件不存在")
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in TRUTH_COLUMNS}, strings_can_be_null=False
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            "truth", f"{path}: not a readable CSV or Parquet file ({exc})", f"{path}：无法读取（{exc}）"
        ) from exc
    missing = [c for c in TRUTH_COLUMNS if c not in table.column_names]
    if missing:
        raise InputError(
            "truth",
            f"{path}: a truth file needs the columns {', '.join(TRUTH_COLUMNS)}; missing: {', '.join(missing)}",
            f"{path}：真值文件须有列 {', '.join(TRUTH_COLUMNS)}；缺少：{'、'.join(missing)}",
        )
    return table.select(list(TRUTH_COLUMNS)).cast(pa.schema([(c, pa.string()) for c in TRUTH_COLUMNS]))
