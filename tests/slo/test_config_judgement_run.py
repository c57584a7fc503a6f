"""The scenario config drives the judgement of a real run: windowed thresholds stay out
of k6's script and are judged on the run's results (read live while k6 ran), Apdex T per
endpoint, and ``generator: {strict: true}`` with criteria every run meets exits 5."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import k6_path, require_tool

pytestmark = pytest.mark.k6
REPO = Path(__file__).resolve().parents[2]


def test_scenario_config_judges_windows_apdex_and_generator(tmp_path: Path, demo_target: str) -> None:
    require_tool(k6_path() is not None, "k6 not installed")
    cfg = tmp_path / "configs"
    shutil.copytree(REPO / "configs", cfg)
    api = yaml.safe_load((cfg / "scenarios" / "api.yaml").read_text())
    api["thresholds"]["http_req_duration"] += ["p(95) < 100000 within 2s", "max < 0.001 for 1s"]
    api["apdex_t_ms"] = 250
    own_t = {e["name"]: 3.0 + i for i, e in enumerate(api["endpoints"]) if i % 2 == 0}  # every other one
    for e in api["endpoints"]:
        if e["name"] in own_t:
            e["apdex_t_ms"] = own_t[e["name"]]
    api["generator"] = {"strict": True, "cpu_percent": 0.001, "cpu_seconds": 0.5}  # any k6 CPU use trips it
    (cfg / "scenarios" / "api.yaml").write_text(yaml.safe_dump(api))
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "--config-dir",
            str(cfg),
            "run",
            "api",
            "--env",
            "local",
            "--profile",
            "dev",
            "--duration",
            "4s",
            "--target",
            demo_target,
            "--out-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 5, proc.stdout + proc.stderr
    script = (out / "api.js").read_text()
    assert "within 2s" not in script and "for 1s" not in script
    assert (
        '"http_req_duration": [\n      "p(95)<1000",\n      "p(99)<2000"\n    ]' in script
    )  # k6 gets the rest
    doc = json.loads((out / "summary.json").read_text())
    th = doc["metrics"]["http_req_duration"]["thresholds"]
    assert (
        th["p(95) < 100000 within 2s"]["ok"] is True and th["p(95) < 100000 within 2s"]["windows_judged"] >= 2
    )
    assert th["max < 0.001 for 1s"]["ok"] is False and th["max < 0.001 for 1s"]["breaches"]
    apdex = doc["novaload"]["apdex"]
    assert apdex["default_t_ms"] == 250 and len(apdex["endpoints"]) >= 2  # weighted picks: most endpoints ran
    for name, got in apdex["endpoints"].items():
        assert got["t_ms"] == own_t.get(name, 250), name
    gen = doc["novaload"]["load_generator"]
    assert gen["verdict"] == "untrustworthy" and gen["criteria"]["strict"] is True
    run = json.loads((out / "run.json").read_text())
    assert (run["exit_code"], run["verdict"]) == (5, "untrustworthy")
    assert "max &lt; 0.001 for 1s" in (out / "report.html").read_text()
    assert "Apdex (T)" in (out / "report.md").read_text()
    assert "apdex_t_ms" in (out / "endpoints.csv").read_text().splitlines()[0]
