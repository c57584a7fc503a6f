"""Kubernetes runners stream their results on a real cluster: the pods' disk stays flat,
every request is merged exactly, ``--raw`` keeps its meaning, and a runner that dies
mid-stream (its pod deleted, or its Job's ``activeDeadlineSeconds``) is reported with what
it sent kept in the run folder, where ``novaload report`` reads it again.

Report latency is measured by ``benchmarks/bench_k8s.py`` (``make bench``), not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import FastTarget, Target, cluster_for
from pod_disk import PodDisk, wait_for

from novaload.run.pipeline import RunOutcome, SilentObserver, run_test
from novaload.run.prepare import RunRequest
from novaload.runners import k8s_objects as objects
from novaload.runners.base import K8sOptions
from novaload.runners.k8s import remaining_objects

pytestmark = [pytest.mark.k8s, pytest.mark.k6, pytest.mark.slow, pytest.mark.xdist_group("k8s")]

FULL_RATE = """
import http from 'k6/http';
export const options = { vus: 30, duration: '40s' };  // 10 VUs per runner, no think time
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""
STEADY = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 6, duration: __ENV.DURATION || '30s' };
export default function () { http.get(`${__ENV.TARGET}/item`); sleep(0.05); }
"""
MiB = 1024


def _run(
    tmp_path: Path, body: str, target_url: str, namespace: str, *, raw: str = "json", n: int = 3, **env: str
) -> RunOutcome:
    script = tmp_path / "script.js"
    script.write_text(body, encoding="utf-8")
    args = ["-e", f"TARGET={target_url}"] + [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
    return run_test(
        RunRequest(
            target=str(script),
            runner="k8s",
            parallelism=n,
            out_dir=tmp_path / "run",
            extra_k6_args=tuple(args),
            kubernetes=K8sOptions(namespace=namespace, mode="jobs"),
            raw=raw,
            record_history=False,
        ),
        SilentObserver(),
    )


def _runners(outcome: RunOutcome) -> list[dict]:
    return json.loads((outcome.run_dir / "k8s-runners.json").read_text())["runners"]


def _count(outcome: RunOutcome, metric: str = "http_reqs") -> int:
    return int(json.loads((outcome.run_dir / "summary.json").read_text())["metrics"][metric]["count"])


def _runner_counts(outcome: RunOutcome, metric: str = "http_reqs") -> list[int]:
    """Each runner's own k6 count (its --summary-export)."""
    return [
        int(json.loads(p.read_text())["metrics"][metric]["count"])
        for p in sorted(outcome.run_dir.glob("k6-summary-export-*of*.json"))
    ]


def _points_in(path: Path, metric: str = "http_reqs") -> int:
    needle = f'"metric":"{metric}","type":"Point"'.encode()
    with path.open("rb") as fh:
        return sum(1 for line in fh if needle in line and line.endswith(b"\n"))


def test_a_three_runner_40s_full_rate_run_keeps_pod_disk_flat_and_merges_every_request(
    tmp_path: Path, namespace: str, fast_bridge_target: FastTarget
) -> None:
    """The issue's case: 3 runners, 40 s, no think time. Kept on disk in each pod and
    copied at the end, its raw JSON grew the pods' folders by 943 MB."""
    disk = PodDisk(cluster_for(namespace).api, namespace, objects.run_selector()).start()
    try:
        outcome = _run(tmp_path, FULL_RATE, fast_bridge_target.url, namespace)  # --raw json
    finally:
        disk.stop()

    assert outcome.exit_code == 0, outcome.warnings
    # The pods' disk was looked at all along the 40 s, and did not grow with the results.
    assert len(disk.samples) == 3 and all(len(s) >= 8 for s in disk.samples.values()), disk.samples
    assert sum(disk.growth_kib().values()) < 64 * MiB, disk.samples
    # Every request, exactly: the sum of the runners' own k6 counts, and what the target served.
    per_runner = _runner_counts(outcome)
    assert len(per_runner) == 3 and min(per_runner) > 0
    assert _count(outcome) == sum(per_runner) == fast_bridge_target.served()
    assert _count(outcome, "iterations") == sum(_runner_counts(outcome, "iterations"))
    runners = _runners(outcome)
    assert all(r["results"]["streamed"] and r["results"]["complete"] for r in runners), runners
    # The run folder keeps k6's JSON (--raw json): what the pods' folders would have held
    # (the bound above means something: on an idle machine several times 64 MiB).
    kept = sorted(outcome.run_dir.glob("k6-results-*of3.json"))
    assert [p.stat().st_size for p in kept] == [r["results"]["json_bytes"] for r in runners]
    assert sum(p.stat().st_size for p in kept) > 16 * MiB * 1024
    assert remaining_objects(cluster_for(namespace), None) == []


@pytest.mark.parametrize("raw", ["json", "json.gz", "none"])
def test_raw_keeps_its_meaning_for_kubernetes_runs(
    tmp_path: Path, namespace: str, bridge_target: Target, raw: str
) -> None:
    outcome = _run(tmp_path, STEADY, bridge_target.url, namespace, raw=raw, n=2, DURATION="4s")
    assert outcome.exit_code == 0, outcome.warnings
    assert _count(outcome) == sum(_runner_counts(outcome)) == bridge_target.requests > 0
    results = sorted(p.name for p in outcome.run_dir.iterdir() if p.name.startswith("k6-results"))
    runners = _runners(outcome)
    if raw == "json":  # plain JSON, every line whole
        assert results == ["k6-results-1of2.json", "k6-results-2of2.json"]
        assert sum(_points_in(outcome.run_dir / name) for name in results) == _count(outcome)
    elif raw == "json.gz":  # the gzip as it came over the API server
        assert results == ["k6-results-1of2.json.gz", "k6-results-2of2.json.gz"]
        sizes = [(outcome.run_dir / name).stat().st_size for name in results]
        assert sizes == [r["results"]["bytes_received"] for r in runners]
    else:  # nothing kept: read from the live scan's pipes, which are gone
        assert results == []
    assert remaining_objects(cluster_for(namespace), None) == []


def _delete_mid_stream(namespace: str, index: int, growing: Path, after_bytes: int) -> threading.Thread:
    """Deletes runner ``index``'s pod (as an eviction or a lost node would) once its
    results file in the run folder, which its stream writes as it comes, holds
    ``after_bytes``: it dies mid-stream."""
    from kubernetes import client

    core = client.CoreV1Api(cluster_for(namespace).api)
    selector = f"{objects.run_selector()},{objects.INSTANCE_LABEL}={index}"

    def work() -> None:
        pod = wait_for(lambda: core.list_namespaced_pod(namespace, label_selector=selector).items, 120)[0]
        wait_for(lambda: growing.exists() and growing.stat().st_size >= after_bytes, 120, every_s=0.2)
        core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_runner_that_dies_mid_stream_is_reported_and_what_it_sent_is_kept(
    tmp_path: Path, namespace: str, bridge_target: Target
) -> None:
    killer = _delete_mid_stream(namespace, 2, tmp_path / "run" / "k6-results-2of3.json", 200_000)
    outcome = _run(tmp_path, STEADY, bridge_target.url, namespace, DURATION="40s")
    killer.join(10)

    runners = _runners(outcome)
    lost = runners[1]
    assert lost["exit_code"] is None and lost["failure"], lost
    assert not lost["results_collected"] and lost["results"]["streamed"]
    assert not lost["results"]["complete"] and lost["results"]["ended_early"]
    assert lost["results"]["bytes_received"] > 0
    assert outcome.exit_code not in (0, 99)  # a segment is missing: never passed
    # The others were stopped (their segment without it would mislead) and sent all of theirs.
    assert all(r["results"]["complete"] for r in (runners[0], runners[2])), runners
    notes = outcome.results.warnings if outcome.results else []
    assert any("runner 2/3: its results stream ended early" in w for w in notes), notes
    # The report holds exactly what arrived: the two complete runners' own counts and the
    # whole lines runner 2 sent before it died.
    kept = outcome.run_dir / "k6-results-2of3.json"
    sent_by_lost = _points_in(kept)
    assert sent_by_lost > 0
    assert _count(outcome) == sum(_runner_counts(outcome)) + sent_by_lost
    # ...and `novaload report RUN_FOLDER` rebuilds the same figures from the run folder.
    again = tmp_path / "again"
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "report", str(outcome.run_dir), "--out-dir", str(again)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 99), proc.stdout + proc.stderr
    assert json.loads((again / "summary.json").read_text())["metrics"]["http_reqs"]["count"] == _count(
        outcome
    )
    assert remaining_objects(cluster_for(namespace), None) == []


def test_runners_killed_by_their_jobs_deadline_end_the_run_with_what_they_sent(
    tmp_path: Path, namespace: str, bridge_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``activeDeadlineSeconds`` bounds a runner whose novaload is gone; when it strikes
    while novaload still runs, the run ends at once with the part that arrived."""
    from novaload.runners import k8s as k8s_runner

    monkeypatch.setattr(
        k8s_runner._Run, "_deadline_s", lambda self: 45
    )  # pods start slowly on a busy machine
    outcome = _run(tmp_path, STEADY, bridge_target.url, namespace, n=2, DURATION="120s")
    runners = _runners(outcome)
    said = json.dumps(runners, indent=1)
    # killed: no exit code read (the pod went first), or the kill's own (SIGKILL, SIGTERM)
    assert all(r["exit_code"] in (None, 137, 143) and not r["results"]["complete"] for r in runners), said
    assert any("DeadlineExceeded" in (r["failure"] or "") for r in runners), said
    assert outcome.exit_code not in (0, 99)
    assert _count(outcome) == sum(_points_in(outcome.run_dir / f"k6-results-{i}of2.json") for i in (1, 2)) > 0
    assert remaining_objects(cluster_for(namespace), None) == []
