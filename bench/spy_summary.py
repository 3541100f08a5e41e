"""Where a server's time goes, from py-spy's raw stacks (``bench_checks.py --py-spy DIR``).

    uv run python bench/spy_summary.py bench/out/py-spy/py-spy-sqlite.*.txt [--top 40]

Prints, over all the files, the share of samples in which each frame appears (inclusive) and
the share in which it is the innermost frame (where the time is spent)."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_PATH = re.compile(r"\s*\(.*?/(?:site-packages|src|lib/python3\.\d+)/")


def frame_name(frame: str) -> str:
    return _PATH.sub(" (", frame)


def summary(files: list[Path]) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    inclusive: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            stack, count = line.rsplit(" ", 1)
            n = int(count)
            frames = [frame_name(f) for f in stack.split(";")]
            total += n
            for name in set(frames):
                inclusive[name] += n
            innermost[frames[-1]] += n
    return total, inclusive, innermost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    total, inclusive, innermost = summary(args.files)
    print(f"{total} samples")
    for name, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {name}")
    print("innermost:")
    for name, n in innermost.most_common(args.top // 2):
        print(f"{100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
