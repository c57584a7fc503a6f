"""Load-generator sampling in the Docker runner: each container's CPU and memory come from
the engine's stats API (and its run-queue wait from the host's /proc), one series per instance."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from novaload.results.generator import assess_run_folder
from novaload.runfolder import GENERATOR_SAMPLES
from novaload.runners.base import ExecutionPlan
from novaload.runners.docker import DockerRunner

pytestmark = pytest.mark.docker

BUSY = """
export const options = { scenarios: { busy: { executor: 'constant-vus', vus: 2, duration: '6s' } } };
export default function () { let x = 0; for (let i = 0; i < 20000; i++) { x += Math.sqrt(i); } }
"""


def test_each_container_is_sampled(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    run_id = f"pytest-{uuid.uuid4().hex[:10]}"
    no_leftovers.append(run_id)
    script = tmp_path / "busy.js"
    script.write_text(BUSY, encoding="utf-8")
    plan = ExecutionPlan(
        run_id=run_id,
        script=script,
        run_dir=run_dir,
        k6_args=("--tag", f"testid={run_id}"),
        env={},
        k6_binary="k6",
        parallelism=2,
        image=k6_image,
    )

    execution = DockerRunner(on_log=lambda line: None, poll_interval_s=0.5).run(plan)

    assert execution.exit_code == 0
    raw = [json.loads(line) for line in (run_dir / GENERATOR_SAMPLES).read_text().splitlines()]
    by_instance = {i: [s for s in raw if s["instance"] == i] for i in (1, 2)}
    assert all(len(samples) >= 2 for samples in by_instance.values()), {
        i: len(v) for i, v in by_instance.items()
    }
    assert {s["runner"] for s in raw} == {"docker"}
    assert all(s["cpu_share"] >= 1 and s["rss_bytes"] > 0 and s["cpu_percent"] >= 0 for s in raw)
    assert any(s["cpu_percent"] > 5 for s in raw)  # the busy loop shows
    health = assess_run_folder(run_dir, dropped_iterations=0, origin_s=None)
    assert health.sampled and len(health.samples) == len(raw)
    assert health.peak_rss_bytes == max(s["rss_bytes"] for s in raw)
