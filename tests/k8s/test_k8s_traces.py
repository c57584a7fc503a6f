"""``--traces`` with ``--runner k8s``: the entry script imports the user's script from its
folder, so the script travels as a ``k6 archive`` holding both and the tracing module;
every runner pod's requests carry trace context and the merged exemplars are trace ids
the server received (checks as for the local runner, ``tests/run/test_traces.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cluster_for
from trace_server import TRACED_SCRIPT, TraceServer, check_traced_run

from novaload.run.pipeline import run_test
from novaload.run.prepare import RunRequest
from novaload.runners.base import K8sOptions
from novaload.runners.k8s import remaining_objects

pytestmark = [pytest.mark.k8s, pytest.mark.k6, pytest.mark.slow, pytest.mark.xdist_group("k8s")]


def test_two_runner_pods_send_trace_context_and_give_exemplars(
    tmp_path: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVALOAD_JAEGER_URL", "http://jaeger.test:16686")
    script = tmp_path / "user" / "script.js"
    script.parent.mkdir()
    script.write_text(TRACED_SCRIPT)
    with TraceServer(tmp_path) as server:  # on loopback: the runner pods use the node's network
        outcome = run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                traces=True,
                extra_k6_args=("-e", f"TRACE_TARGET={server.url}"),
                kubernetes=K8sOptions(namespace=namespace, mode="jobs", host_network=True),
                record_history=False,
            )
        )
        received = server.requests()
    assert outcome.exit_code == 0, outcome.warnings
    check_traced_run(json.loads((outcome.run_dir / "summary.json").read_text()), received, outcome.run_dir)
    assert remaining_objects(cluster_for(namespace), None) == []
