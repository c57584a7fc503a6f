"""Run one DockerRunner.run in its own process, so a test can send it real signals.

Usage: python driver.py '<json: run_id, script, run_dir, image, k6_args>'
Optional: env (k6's environment), setup (--setup). Prints one JSON line with the
K6Execution's exit code and flags, the run's k6 exit code as the outcome decides it, and
how setup() and teardown() ran; then exits 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from novaload.run.outcome import k6_exit_code
from novaload.runners.base import ExecutionPlan
from novaload.runners.docker import DockerRunner


def main(spec: dict[str, object]) -> None:
    plan = ExecutionPlan(
        run_id=str(spec["run_id"]),
        script=Path(str(spec["script"])),
        run_dir=Path(str(spec["run_dir"])),
        k6_args=tuple(spec.get("k6_args", ())),  # type: ignore[arg-type]
        env=dict(spec.get("env", {})),  # type: ignore[call-overload]
        k6_binary="k6",
        image=str(spec["image"]),
        parallelism=int(spec.get("parallelism", 1)),  # type: ignore[call-overload]
        **({"setup": str(spec["setup"])} if "setup" in spec else {}),
    )
    execution = DockerRunner(on_log=lambda line: print(line, file=sys.stderr, flush=True)).run(plan)
    lifecycle = execution.setup_teardown
    print(
        json.dumps(
            {
                "exit_code": execution.exit_code,
                "interrupted": execution.interrupted,
                "killed": execution.killed,
                "results_files": [str(p) for p in execution.results_files],
                "summary_files": [str(p) for p in execution.summary_files],
                "run_exit_code": k6_exit_code(execution.exit_codes, setup_teardown=lifecycle),
                "setup_teardown": {
                    "setup": lifecycle.setup,
                    "teardown": lifecycle.teardown,
                    "runner": lifecycle.runner,
                }
                if lifecycle is not None
                else None,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
