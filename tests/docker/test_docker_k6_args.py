"""k6's own flags on the Docker runner: the same command line as under ``k6 run``, one
container or a split run (``novaload run SCRIPT --runner docker -- K6_ARGS``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from novaload.run.pipeline import run_test
from novaload.run.prepare import RunRequest

pytestmark = [pytest.mark.docker, pytest.mark.k6]

FOO_SCRIPT = """
import { check } from 'k6';
export const options = { thresholds: { checks: ['rate==1'] } };
export default function () { check(__ENV.FOO, { 'FOO is bar': (v) => v === 'bar' }); }
"""


@pytest.mark.parametrize(("parallelism", "vus", "iterations"), [(1, 1, 7), (2, 2, 8)])
def test_k6_users_line_on_the_docker_runner(
    k6_image: str, tmp_path: Path, no_leftovers: list[str], parallelism: int, vus: int, iterations: int
) -> None:
    script = tmp_path / "p.js"
    script.write_text(FOO_SCRIPT)
    k6_line = ("-e", "FOO=bar", "--tag", "team=perf", "--iterations", str(iterations), "--vus", str(vus))
    outcome = run_test(
        RunRequest(
            target=str(script),
            runner="docker",
            image=k6_image,
            parallelism=parallelism,
            out_dir=tmp_path / "run",
            extra_k6_args=k6_line,
            working_dir=tmp_path,
            record_history=False,
        )
    )
    no_leftovers.append(outcome.run_id)
    assert outcome.exit_code == 0, outcome.warnings
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["metrics"]["iterations"]["count"] == iterations
    assert summary["metrics"]["checks"]["passes"] == iterations  # FOO reached every VU
    tags = set()
    for path in outcome.execution.results_files:
        with path.open() as f:
            tags |= {json.loads(x)["data"]["tags"].get("team") for x in f if '"type":"Point"' in x}
    assert tags == {"perf"}
    record = json.loads((outcome.run_dir / "run.json").read_text())
    assert record["k6_args"] == list(k6_line)
    assert record["image"] == k6_image  # the image the containers ran
