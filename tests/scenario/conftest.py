"""Fixtures for running novaload scenarios with the real k6 against a demo target.

Each test starts its own demo target (:class:`TargetProcess`, port 0) and uses
its own run id, so tests are independent and safe under pytest-xdist. Runs are
bounded by their profiles (a few seconds each).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from novaload.config.loader import load_project
from novaload.config.models import Profile, ProjectConfig, Scenario
from novaload.config.resolve import Overrides, select
from novaload.scenario.render import render
from novaload.target.settings import TargetSettings


@pytest.fixture(scope="session")
def project(repo_root: Path) -> ProjectConfig:
    return load_project(repo_root / "configs", repo_root / "k6-scenarios")


@dataclass
class K6Run:
    exit_code: int
    script: Path
    summary: dict[str, Any]  # --summary-export content ({} if k6 wrote none)
    results_json: Path
    output: str
    run_id: str
    probe: Any = None  # what `probe()` returned just before the interrupt

    def metric(self, name: str) -> dict[str, Any]:
        return self.summary.get("metrics", {}).get(name, {})

    def failed_thresholds(self) -> list[str]:
        return [
            f"{m}: {expr}"
            for m, v in self.summary.get("metrics", {}).items()
            for expr, failed in v.get("thresholds", {}).items()
            if failed
        ]


@dataclass
class Target:
    url: str
    ws_url: str

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def configure(self, **settings: Any) -> Any:
        req = urllib.request.Request(
            self.url + "/api/v1/admin/settings",
            method="POST",
            data=json.dumps(settings).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture
def make_target() -> Iterator[Callable[..., Target]]:
    """Start demo targets (stopped at the end of the test), one per call."""
    from novaload.target.process import TargetProcess

    started: list[TargetProcess] = []

    def start(**settings: Any) -> Target:
        proc = TargetProcess.start(TargetSettings(**settings))
        started.append(proc)
        return Target(url=proc.url, ws_url=proc.ws_url)

    yield start
    for proc in started:
        proc.stop()


def _k6_command(k6_bin: str, script: Path, target: Target, export: Path, out: Path, run_id: str) -> list[str]:
    # --address 127.0.0.1:0: parallel k6 runs must not fight over the REST API port 6565.
    return [
        k6_bin,
        "run",
        "--quiet",
        "--no-color",
        "--address",
        "127.0.0.1:0",
        "--summary-export",
        str(export),
        "--out",
        f"json={out}",
        "-e",
        f"NOVALOAD_BASE_URL={target.url}",
        "-e",
        f"NOVALOAD_WS_URL={target.ws_url}",
        "-e",
        f"NOVALOAD_RUN_ID={run_id}",
        str(script),
    ]


@pytest.fixture
def run_scenario(
    k6_bin: str, project: ProjectConfig, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., K6Run]:
    """Render scenario NAME for `local` with a profile and run it with k6 on a target.

    ``interrupt_after`` sends SIGINT that many seconds after start (a user's Ctrl-C).
    """

    def run(
        name: str,
        target: Target,
        *,
        profile: str | Profile = "dev",
        scenario: Scenario | None = None,
        interrupt_after: float | None = None,
        probe: Callable[[str], Any] | None = None,
        timeout: float = 120,
    ) -> K6Run:
        scenario = scenario or project.scenarios[name]
        sel = select(
            project,
            name,
            Overrides(environment="local", profile=profile if isinstance(profile, str) else None),
        )
        prof = profile if isinstance(profile, Profile) else sel.profile
        run_id = f"t-{request.node.name[:20]}-{os.getpid()}-{time.monotonic_ns() % 10**8}"
        run_id = "".join(c if c.isalnum() or c in "-_" else "-" for c in run_id)
        script = render(scenario, sel.environment, prof).write(tmp_path / f"{name}.js")
        export, out = tmp_path / f"{name}-summary.json", tmp_path / f"{name}-results.json"
        proc = subprocess.Popen(
            _k6_command(k6_bin, script, target, export, out, run_id),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        probed = None
        try:
            if interrupt_after is not None:
                time.sleep(interrupt_after)
                probed = probe(run_id) if probe else None
                proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        summary = json.loads(export.read_text()) if export.exists() else {}
        return K6Run(
            exit_code=proc.returncode,
            script=script,
            summary=summary,
            results_json=out,
            output=output,
            run_id=run_id,
            probe=probed,
        )

    return run
