"""What the judgement of a run costs on top of the ingest (figures, not assertions).

Input: the real k6 run ``bench_ingest.py`` records against the demo target (20 VUs x
10 s). Windows are what matter here, so the run is made *long*, not big: every
``--keep``-th Point line (1 in 20 by default) of the run, replicated with timestamps
shifted by the run's span until it covers ``--minutes`` (10), cached in ``.bench/``.

Measured in-process, best of ``--repeat``, the 1-minute load average beside the figures
(on a shared 2-core machine, a load above ~1 makes wall times unreliable):

* ``ingest``: ``ingest()`` alone (endpoints, time series, histograms, Apdex, per-endpoint
  histograms and percentiles per window: the distribution is part of every ingest);
* ``+ 3 windowed``: the same with windowed thresholds on ``http_req_duration`` (a sliding
  ``within 1m``, a sustained ``for 30s``) and on ``http_req_failed`` (``within 10s``);
* ``distribution.fill``: the distribution's own share of an ingest.

    .venv/bin/python benchmarks/bench_judgement.py [--minutes 10] [--keep 20] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SLO = {
    "http_req_duration": ["p(95) < 1000 within 1m", "p(95) < 1000 for 30s"],
    "http_req_failed": ["rate < 0.01 within 10s"],
}


def _timed(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def long_input(minutes: int, keep: int) -> Path:
    """Every ``keep``-th Point line of the base run, shifted copies covering ``minutes``."""
    from bench_ingest import CACHE, _shifted_lines, _span_seconds, base_run

    base = base_run()
    out = CACHE / f"k6-long-{minutes}m-1of{keep}.json"
    if out.exists():
        return out
    span = _span_seconds(base)
    tmp = out.with_suffix(".part")
    print(f"building {out.name} ...", flush=True)
    with tmp.open("wb") as dst:
        for replica in range(max(1, -(-minutes * 60 // span))):
            dst.writelines(_shifted_lines(base, replica * span)[::keep])
    tmp.rename(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=10, help="run length to build [10]")
    parser.add_argument("--keep", type=int, default=20, help="keep every N-th Point line [20]")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from novaload.results import distribution
    from novaload.results.ingest import ingest
    from novaload.thresholds import thresholds_from_mapping

    path = long_input(args.minutes, args.keep)
    slo = thresholds_from_mapping(SLO, source="file", origin="bench")
    shares: list[float] = []
    original = distribution.fill

    def timed_fill(*a: object, **kw: object) -> None:
        start = time.perf_counter()
        original(*a, **kw)  # type: ignore[arg-type]
        shares.append(time.perf_counter() - start)

    distribution.fill = timed_fill
    base = _timed(lambda: ingest([path]), args.repeat)
    windowed = _timed(lambda: ingest([path], extra_thresholds=slo), args.repeat)
    res = ingest([path], extra_thresholds=slo)
    windows = sum(len(t.windows) for t in res.thresholds if t.window)
    load = os.getloadavg()[0]
    print(
        f"input {path.name}: {path.stat().st_size / 1e9:.2f} GB, {res.points:,} samples, "
        f"{len(res.timeseries)} time windows"
    )
    print(f"ingest                {base:7.2f} s   (load {load:.1f})")
    print(
        f"ingest + 3 windowed   {windowed:7.2f} s   ({windowed - base:+.2f} s for {windows:,} windows judged)"
    )
    print(
        f"distribution.fill     {min(shares):7.2f} s   (Apdex, endpoint histograms, percentiles per window)"
    )


if __name__ == "__main__":
    main()
