"""Benchmark: the revocation filter at scale — size, lookups per second per core, delta updates.

    uv run python bench/bench_revocations.py [--revoked 1000000] [--lookups 1000000] [--daily 1000] [--write-docs]

All in one process (one core), on data made here: ``--revoked`` random revocation hashes (as
SHA-256 hex, what ``credential_hash`` gives), numbered 1..N as the store numbers them.
  1. The signed full list (``FilterUpdate`` since 0): bytes, bytes an entry, encode + sign time,
     and a checkpoint's verify + decode + apply time.
  2. Lookups (``RevocationFilter.is_revoked`` on the hex hash, as a verifier calls it): half of
     them revoked hashes, half hashes not on the list; and the false positives among
     ``--lookups`` hashes not on the list, against the stated bound n / 2^64.
  3. A day's delta: ``--daily`` new revocations since the version the checkpoint holds: bytes,
     and the time to verify and apply it.
With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from commutepass.credentials.keys import KeyRing
from commutepass.credentials.revocation import (
    FilterUpdate,
    RevocationFilter,
    false_positive_rate,
    update_since,
)
from commutepass.credentials.trust import load_anchor
from docs_section import publish  # bench/ is on sys.path when run as a script

MARK = "bench_revocations"
NOW = datetime(2021, 11, 29, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--revoked", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--daily", type=int, default=1000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rng = random.Random(17)

    def random_hash() -> str:
        return f"{rng.getrandbits(256):064x}"

    revoked = [random_hash() for _ in range(args.revoked)]
    rows = [(serial, digest) for serial, digest in enumerate(revoked, start=1)]
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-") as tmp:
        ring = KeyRing(Path(tmp), b"bench")
        signer = ring.trust_signer()
        anchor = load_anchor(signer.record.public_key_pem)

        t0 = time.perf_counter()
        full = update_since(rows, 0, len(rows), NOW).encode(signer)
        encode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        held = RevocationFilter.of([], 0).apply(FilterUpdate.decode(full, anchor))
        load_s = time.perf_counter() - t0
        assert len(held) == args.revoked

        absent = [random_hash() for _ in range(args.lookups)]
        mixed = [revoked[i % args.revoked] if i % 2 == 0 else absent[i] for i in range(args.lookups)]
        t0 = time.perf_counter()
        found = sum(1 for h in mixed if held.is_revoked(h))
        lookup_s = time.perf_counter() - t0
        assert found >= (args.lookups + 1) // 2, "every revoked hash is found"
        false_positives = sum(1 for h in absent if held.is_revoked(h))

        daily = [random_hash() for _ in range(args.daily)]
        later = rows + [(args.revoked + n, digest) for n, digest in enumerate(daily, start=1)]
        delta = update_since(later[-args.daily :], held.version, len(later), NOW).encode(signer)
        t0 = time.perf_counter()
        moved = held.apply(FilterUpdate.decode(delta, anchor))
        apply_s = time.perf_counter() - t0
        assert len(moved) == args.revoked + args.daily and all(moved.is_revoked(h) for h in daily)

    full_mb = len(full) / 1_000_000
    rate = args.lookups / lookup_s
    command = " ".join(["uv run python bench/bench_revocations.py", *sys.argv[1:]])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load} at the end: the machine is shared), "
        f"Python {platform.python_version()}"
    )
    publish(
        MARK,
        [
            f"Command: `{command}` — {args.revoked:,} random revoked-code hashes, {args.lookups:,} lookups (half revoked, "
            f"half not), a day of {args.daily:,} new revocations; {machine}; one process, one core; measured "
            f"{date.today().isoformat()}.",
            "",
            "| what | measured | target |",
            "|---|---:|---:|",
            f"| signed list of {args.revoked:,} revoked codes (8-byte hash prefixes, sorted, COSE_Sign1) | {full_mb:,.2f} MB "
            f"({len(full) / args.revoked:.2f} bytes an entry) | ≤ 10 MB |",
            f"| false-positive rate of a lookup, stated bound n / 2^64 | {false_positive_rate(args.revoked):.1e} | ≤ 1e-9 |",
            f"| false positives measured among {args.lookups:,} hashes not on the list | {false_positives} | — |",
            f"| lookups/s per core (`is_revoked` on the hex hash: parse + binary search) | {rate:,.0f} | ≥ 200,000 |",
            f"| a day's delta ({args.daily:,} new revocations since the version held) | {len(delta):,} bytes | small |",
            f"| applying it at a checkpoint (verify + decode + merge) | {apply_s:.2f} s | — |",
            f"| the full list: encode + sign / a checkpoint's verify + decode + load | {encode_s:.2f} s / {load_s:.2f} s | — |",
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
