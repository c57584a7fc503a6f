"""The on-disk value store: exact order statistics and sums in bounded memory.

The streamed path (radix selection over chunks) must give exactly what the
in-memory path (``numpy.partition`` on all values) gives, for any data and any
chunk size; and a whole ingest through the streamed path must equal the default.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from novaload.results import fastscan, store
from novaload.results.ingest import ingest
from novaload.results.stats import percentiles
from novaload.results.summary import summary_document

FRAMES = ("endpoints", "scenarios", "groups", "timeseries", "histogram", "checks", "statuses")


def _chunked(values: np.ndarray, size: int):
    return lambda: (values[i : i + size].copy() for i in range(0, len(values), size))


DATASETS = {
    "latencies": lambda rng: rng.lognormal(1.0, 1.2, 5003),
    "negatives and zeros": lambda rng: np.concatenate(
        [rng.normal(0, 1e-3, 2000), np.zeros(300), -np.zeros(5), rng.normal(-5e5, 10, 700)]
    ),
    "all equal": lambda rng: np.full(4097, 12.5),
    "two values": lambda rng: rng.choice([1.0, 1.0000000000000002], 3001),
    "extremes": lambda rng: np.array(
        [5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 0.0, 1.0] * 300
    ),
}


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("chunk,gather", [(97, 3), (1000, 64), (10_000, 1 << 20)])
def test_radix_selection_equals_a_full_sort(name, chunk, gather):
    rng = np.random.default_rng(7)
    values = DATASETS[name](rng)
    rng.shuffle(values)
    ordered = np.sort(values)
    ranks = sorted({0, 1, len(values) // 2, len(values) - 2, len(values) - 1, int(0.95 * (len(values) - 1))})
    got = store.select_ranks(_chunked(values, chunk), len(values), ranks, gather)
    for r in ranks:
        assert got[r] == ordered[r], (r, got[r], ordered[r])


def test_sequential_sum_is_left_to_right_whatever_the_chunks():
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 3, 10_001)
    expected = 0.0
    for v in values.tolist():  # k6's loop: sum += v
        expected += v
    for size in (1, 7, 4096, len(values)):
        total = 0.0
        for i in range(0, len(values), size):
            total = store.sequential_sum(values[i : i + size], total)
        assert total == expected


def test_store_reads_back_each_group_in_file_order(tmp_path):
    vs = store.ValueStore(tmp_path)
    # two owners (scanners in file order), each appending chunks sorted by local gid
    vs.append(
        0,
        np.array([1.0, 2.0, 3.0]).tobytes(),
        np.array([0, 1], np.uint32).tobytes(),
        np.array([2, 1]).tobytes(),
    )
    vs.append(1, np.array([4.0, 5.0]).tobytes(), np.array([0], np.uint32).tobytes(), np.array([2]).tobytes())
    vs.append(0, np.array([6.0]).tobytes(), np.array([1], np.uint32).tobytes(), np.array([1]).tobytes())
    # owner 0's local 0 and owner 1's local 0 are global group 2; owner 0's local 1 is 0
    sealed = vs.seal({0: np.array([2, 0]), 1: np.array([2])}, 3, np.array([True, True, True]))
    assert list(tmp_path.iterdir()) == []  # the file's name is gone at once; the data stays open
    assert sealed.read([2]).tolist() == [1.0, 2.0, 4.0, 5.0]
    assert sealed.read([0]).tolist() == [3.0, 6.0]
    assert sealed.read([0, 2]).tolist() == [3.0, 6.0, 1.0, 2.0, 4.0, 5.0]
    assert [c.tolist() for c in sealed.chunks([0, 2], 4)] == [[3.0, 6.0, 1.0, 2.0], [4.0, 5.0]]
    assert sealed.count([1]) == 0 and sealed.read([1]).tolist() == []
    sealed.close()


@pytest.fixture
def streamed(monkeypatch):
    """Force every path that bounds memory on small inputs: tiny flushes to the store,
    tiny in-memory limit, tiny chunks and radix buckets."""

    def apply():
        monkeypatch.setattr(fastscan, "FLUSH_POINTS", 50)
        monkeypatch.setattr(store, "IN_MEMORY", 40)
        monkeypatch.setattr(store, "CHUNK", 33)
        monkeypatch.setattr(store, "GATHER", 9)

    return apply


@pytest.mark.k6
def test_streamed_store_gives_the_in_memory_figures(k6_runs, streamed):
    if not fastscan.available():
        pytest.skip("the C fast path is not built")
    run = k6_runs("mixed.js")
    whole = ingest([run.json], k6_summary=run.export)
    streamed()
    parts = ingest([run.json], k6_summary=run.export)
    assert summary_document(parts)["metrics"] == summary_document(whole)["metrics"]
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(parts, frame), getattr(whole, frame), check_exact=True)
    every = parts.latency_between(0.0, math.inf)
    assert percentiles(every, [95.0])[95.0] == whole.value("http_req_duration", "p(95)")


@pytest.mark.k6
def test_latency_digest_is_exact_and_its_subsample_is_drawn_from_the_values(k6_runs, streamed):
    """What the history and baselines keep of a run, built from the store in bounded
    memory: counts and k6's percentiles per endpoint, and a uniform subsample."""
    run = k6_runs("mixed.js")
    res = ingest([run.json])
    samples = res.latency_samples()
    streamed()
    digest = ingest([run.json]).latency_digest(max_samples=25, seed=3)
    names = sorted(samples["name"].unique())
    assert sorted(k for k in digest if k is not None) == names
    for name in [*names, None]:
        values = (samples if name is None else samples[samples["name"] == name])["value"].to_numpy()
        d = digest[name]
        assert d.requests == len(values)
        got = percentiles(values, [50.0, 95.0, 99.0])
        assert (d.p50, d.p95, d.p99) == (got[50.0], got[95.0], got[99.0])
        assert len(d.latencies) == min(25, len(values))
        assert list(d.latencies) == sorted(d.latencies)
        pool = sorted(values.tolist())
        for v in d.latencies.tolist():  # a draw without replacement from the values
            pool.remove(v)
