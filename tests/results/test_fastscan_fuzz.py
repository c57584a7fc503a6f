"""Bounded, seeded mutation fuzzing of the C scanner (see ``k6fast_fuzz.py``).

Real k6 lines (``data/k6_seed.jsonl``) are mutated; every input is fed from a buffer
that ends at an inaccessible page (an over-read faults) whole and in random chunks,
and must give the same groups whichever way it is fed. Long and sanitizer runs:
``benchmarks/fuzz/run_asan_fuzz.sh --iterations 100000``.
"""

from __future__ import annotations

import os
import random

import pytest

from novaload.results import fastscan

from . import k6fast_fuzz as fuzz


@pytest.fixture(autouse=True)
def _extension_built():
    if not fastscan.available():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "novaload.results._k6fast is not built (pip install -e .)"
        )


@pytest.mark.parametrize("seed", [1, 2], ids=["seed1", "seed2"])
def test_mutated_inputs_never_read_out_of_bounds(seed):
    mod = fuzz.load_module(None)
    rng = random.Random(seed)
    lines = fuzz.seed_lines()
    guard = fuzz.GuardedBuffer()
    kept = sum(fuzz.exercise(mod, fuzz.mutate(rng, lines), rng, guard) for _ in range(1000))
    assert kept > 0  # most mutated files still hold valid points


@pytest.mark.xfail(
    reason="Python's json module and DuckDB's reader still judge some JSON "
    "differently (trailing commas, 1E400, ...): see the fuzz report",
    strict=False,
)
def test_mutated_inputs_give_duckdb_figures(tmp_path):
    rng = random.Random(3)
    lines = fuzz.seed_lines()
    datas = [fuzz.mutate(rng, lines, fuzz.AGREED_OPS) for _ in range(600)]
    found = []
    for i in range(0, len(datas), 60):
        found += fuzz.differential(datas[i : i + 60], tmp_path)
    assert found == []
