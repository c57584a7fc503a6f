"""A Kubernetes runner whose exit code is lost is never given a made-up one.

A runner pod deleted mid-run (``kubectl delete pod``, as an eviction or a lost node would)
takes k6's exit code with it: the run exits 9 (``K6_EXIT_UNKNOWN``) with one line naming
the runner, never novaload's bug code 1 nor a pass. The container states the kubelet
reports map as a shell reports a process: OOMKilled is 137, a signal N is 128+N.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import Target
from pod_disk import wait_for

from novaload.runners import k8s_objects as objects

STEADY = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 4, duration: '40s' };
export default function () { http.get(`${__ENV.TARGET}/item`); sleep(0.05); }
"""


def test_terminated_states_map_as_a_shell_reports_a_process() -> None:
    from kubernetes.client import V1ContainerStateTerminated as Terminated

    from novaload.runners.k8s import terminated_exit_code

    assert terminated_exit_code(Terminated(exit_code=137, reason="OOMKilled")) == 137
    # OOMKilled whatever code the kubelet gives it (the wrapper's own, 0 or 1, is not k6's)
    assert terminated_exit_code(Terminated(exit_code=1, reason="OOMKilled")) == 137
    assert terminated_exit_code(Terminated(exit_code=0, signal=15, reason="Error")) == 128 + 15
    assert terminated_exit_code(Terminated(exit_code=99, reason="Error")) == 99
    assert terminated_exit_code(Terminated(exit_code=0, reason="Completed")) == 0


@pytest.mark.k8s
@pytest.mark.k6
@pytest.mark.slow
@pytest.mark.xdist_group("k8s")
def test_a_runner_pod_deleted_with_kubectl_exits_9_naming_the_runner(
    tmp_path: Path, namespace: str, bridge_target: Target
) -> None:
    script = tmp_path / "script.js"
    script.write_text(STEADY, encoding="utf-8")
    out = tmp_path / "run"
    growing = out / "k6-results-2of2.json"
    selector = f"{objects.run_selector()},{objects.INSTANCE_LABEL}=2"

    def delete_runner_2() -> None:
        wait_for(lambda: growing.exists() and growing.stat().st_size >= 50_000, 120, every_s=0.2)
        subprocess.run(
            ["kubectl", "delete", "pod", "-n", namespace, "-l", selector, "--grace-period=0", "--force"],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip

    killer = threading.Thread(target=delete_runner_2, daemon=True)
    killer.start()
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(script), "--runner", "k8s", "--parallelism", "2",
         "--namespace", namespace, "--k8s-mode", "jobs", "--out-dir", str(out),
         "--history-dir", str(tmp_path / "history"), "--", "-e", f"TARGET={bridge_target.url}"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    killer.join(10)
    assert proc.returncode == 9, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "exit code is unknown" in line]
    assert lines and "runner 2/2" in lines[-1], proc.stderr[-3000:]
    record = json.loads((out / "run.json").read_text())
    assert record["exit_code"] == 9 and record["verdict"] != "passed", record
    runners = json.loads((out / "k8s-runners.json").read_text())["runners"]
    assert runners[1]["exit_code"] is None and runners[1]["failure"], runners
