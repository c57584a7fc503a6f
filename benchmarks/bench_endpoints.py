"""Benchmark of a run whose requests carry no name tag (figures, not assertions).

k6 names a request by its URL when the script gives no ``name`` tag, so a script that
puts ids in its URLs has one endpoint per id. This builds a k6 JSON output of URLS
requests to distinct URLs (each with the nine ``http_req*`` samples k6 writes, and an
iteration) and runs ``novaload report`` on it twice, side by side: with the default
``--max-endpoints`` (1,000 rows, the rest one ``(other)`` row) and with the cap out of
the way (every endpoint its own row), printing wall time, CPU and peak RSS of each and
their ratios.

    .venv/bin/python benchmarks/bench_endpoints.py [--urls 100000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_ingest beside this file
from bench_ingest import CACHE, NOVALOAD, _spawn

REQUEST_METRICS = (
    ("http_reqs", "counter"),
    ("http_req_duration", "trend"),
    ("http_req_blocked", "trend"),
    ("http_req_connecting", "trend"),
    ("http_req_tls_handshaking", "trend"),
    ("http_req_sending", "trend"),
    ("http_req_waiting", "trend"),
    ("http_req_receiving", "trend"),
    ("http_req_failed", "rate"),
)


def build(urls: int) -> Path:
    out = CACHE / f"k6-urls-{urls}.json"
    if out.exists():
        return out
    CACHE.mkdir(exist_ok=True)
    tmp = out.with_suffix(".part")
    with tmp.open("w") as fh:
        for name, kind in (*REQUEST_METRICS, ("iterations", "counter")):
            contains = "time" if kind == "trend" else "default"
            meta: dict[str, object] = {
                "name": name,
                "type": kind,
                "contains": contains,
                "thresholds": [],
                "submetrics": None,
            }
            fh.write(
                json.dumps({"type": "Metric", "data": meta, "metric": name}, separators=(",", ":")) + "\n"
            )
        for i in range(urls):
            sec, ms = divmod(i, 1000)
            ts = f"2026-01-01T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{ms:03d}000Z"
            url = f"http://127.0.0.1:8080/api/items/{i}"
            tags = json.dumps(
                {
                    "expected_response": "true",
                    "group": "",
                    "method": "GET",
                    "name": url,
                    "proto": "HTTP/1.1",
                    "scenario": "default",
                    "status": "200",
                    "url": url,
                },
                separators=(",", ":"),
            )
            for name, _ in REQUEST_METRICS:
                value = 0 if name == "http_req_failed" else 1 if name == "http_reqs" else 1.5 + (i % 97) / 10
                fh.write(
                    f'{{"metric":"{name}","type":"Point","data":{{"time":"{ts}","value":{value},"tags":{tags}}}}}\n'
                )
            it = '{"group":"","scenario":"default"}'
            fh.write(
                f'{{"metric":"iterations","type":"Point","data":{{"time":"{ts}","value":1,"tags":{it}}}}}\n'
            )
    tmp.rename(out)
    return out


def report(path: Path, *args: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as out_dir:
        m = _spawn([NOVALOAD, "report", str(path), "--out-dir", out_dir, *args])
        if m["rc"] != 0:
            sys.exit(f"novaload report {' '.join(args)} failed ({m['rc']}): {m['output'][-2000:]}")
        with open(Path(out_dir) / "endpoints.csv") as fh:
            m["rows"] = sum(1 for _ in fh) - 1
        m["summary_mb"] = (Path(out_dir) / "summary.json").stat().st_size / 1e6
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--urls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    path = build(args.urls)
    print(
        f"input: {args.urls:,} requests to {args.urls:,} distinct URLs, {path.stat().st_size / 1e6:,.0f} MB; 2 cores"
    )
    cases = {
        "capped (default --max-endpoints 1000)": (),
        "uncapped (--max-endpoints 10000000)": ("--max-endpoints", "10000000"),
    }
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for name, extra in cases.items():
            m = report(path, *extra)
            best[name] = min(best.get(name, m), m, key=lambda x: x["wall_s"])
    for name, m in best.items():
        print(
            f"  {name:40} {m['wall_s']:7.2f} s  cpu {m['cpu_s']:7.2f} s  peak RSS {m['rss_mib']:7.0f} MiB  "
            f"endpoint rows {m['rows']:>7,}  summary.json {m['summary_mb']:6.2f} MB  load {m['load']:.2f}"
        )
    capped, uncapped = best.values()
    print(
        f"capped / uncapped: wall {capped['wall_s'] / uncapped['wall_s']:.3f}x, "
        f"peak RSS {capped['rss_mib'] / uncapped['rss_mib']:.3f}x, summary.json "
        f"{capped['summary_mb'] / uncapped['summary_mb']:.3f}x"
    )


if __name__ == "__main__":
    main()
