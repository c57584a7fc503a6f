"""What ``novaload run`` imports before k6 starts: only what starting k6 needs.

A user pressing Enter waits for every import on the way to k6, and a suite of 30 scripts
pays it 30 times. The results engine (pandas, numpy, DuckDB), the InfluxDB, Docker and
Kubernetes clients and the report modules are for after k6 (or for other runners and
``--monitor``): they are imported inside the functions that need them, and the report
modules warm up in a background thread once k6 runs.

The real CLI runs in a fresh interpreter with real k6 on a one-iteration script. An
audit hook (``sys.addaudithook``, a stable interpreter interface) takes ``sys.modules``
at the very moment the runner spawns ``k6 run``, whatever code path led there; the same
interpreter runs under ``-X importtime``, so a failure names the chain of imports that
pulled the module in.

And the other end: the command does not wait for the interpreter's teardown after the run,
and a k6 that cannot run is still the first error although ``k6 version`` now runs beside
the other checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import import_chains

REPO = Path(__file__).resolve().parent.parent

# Never needed before k6 starts, whatever the script or the local runner's options
# (--monitor aside, which imports the monitoring outputs it wires).
HEAVY = (
    "pandas",
    "numpy",
    "duckdb",
    "influxdb_client",
    "docker",
    "kubernetes",
    "aiohttp",  # the demo target runs in its own process
    "sqlite3",  # the history store, written after the run
    "jinja2",  # renders scenarios, not a user's script
    # novaload's own after-k6 modules: the pipeline imports them in the background once
    # k6 runs (run/pipeline.py's _AFTER_K6) or in finish_run.
    "novaload.results.ingest",
    "novaload.results.model",
    "novaload.results.scan",
    "novaload.results.summary",
    "novaload.reports",
    "novaload.compare",
    "novaload.history",
    "novaload.monitoring.publish",
    "novaload.analysis",
)
# A script run without --env/--target reads no configuration: no YAML, no config models,
# and no pydantic (typer 0.29 coerces every CLI parameter through a pydantic TypeAdapter,
# which pyproject.toml's typer<0.29 keeps off the way to k6).
CONFIG = ("yaml", "pydantic", "novaload.config.loader", "novaload.config.models")

SCRIPT = "export const options = { vus: 1, iterations: 1 };\nexport default function () {}\n"

# Runs the CLI in this interpreter; at the spawn of `k6 run` it writes the loaded
# modules to argv[1] and a marker line into stderr (between -X importtime's lines).
PROBE = r"""
import json, sys
out, k6, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
taken = []

def hook(event, args):
    if event != "subprocess.Popen" or taken:
        return
    cmd = args[1]
    cmd = [cmd] if isinstance(cmd, (str, bytes)) else list(cmd or ())
    if len(cmd) > 1 and str(cmd[0]) == k6 and str(cmd[1]) == "run":
        taken.append(True)
        sys.stderr.write("=== k6 run spawned ===\n")
        sys.stderr.flush()
        with open(out, "w") as f:
            json.dump(sorted(sys.modules), f)

sys.addaudithook(hook)
from novaload.cli import main
main(argv)
"""


def _modules_when_k6_starts(tmp_path: Path, k6: str, *args: str) -> tuple[set[str], dict[str, str]]:
    script = tmp_path / "one.js"
    script.write_text(SCRIPT)
    out = tmp_path / "modules.json"
    argv = ["--config-dir", str(REPO / "configs"), "run", str(script), "--k6", k6]
    argv += ["--out-dir", str(tmp_path / "run"), "--history-dir", str(tmp_path / "history"), *args]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE, str(out), k6, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.exists(), "the audit hook never saw `k6 run` spawned (has the local runner changed?)"
    assert (tmp_path / "run" / "summary.json").exists(), "the run wrote no report"
    loaded = set(json.loads(out.read_text()))
    before = proc.stderr.split("=== k6 run spawned ===", 1)[0]
    return loaded, import_chains(before, set(HEAVY) | set(CONFIG))


def _too_early(loaded: set[str], names: tuple[str, ...], chains: dict[str, str]) -> str:
    """The modules of ``names`` loaded before k6 started, each with its import chain."""
    return "\n".join(f"{name} (via {chains.get(name, '?')})" for name in names if name in loaded)


@pytest.mark.k6
def test_a_script_run_imports_nothing_heavy_before_k6_starts(tmp_path: Path, k6_bin: str):
    loaded, chains = _modules_when_k6_starts(tmp_path, k6_bin)
    early = _too_early(loaded, HEAVY + CONFIG, chains)
    assert not early, f"imported before k6 started:\n{early}"


@pytest.mark.k6
def test_a_script_run_with_a_target_reads_config_but_nothing_heavy(tmp_path: Path, k6_bin: str):
    # --target resolves an environment (its headers' secrets) from configs/: YAML is needed.
    loaded, chains = _modules_when_k6_starts(tmp_path, k6_bin, "--target", "http://127.0.0.1:9")
    assert "novaload.config.loader" in loaded  # the probe sees the config path it means to
    early = _too_early(loaded, HEAVY, chains)
    assert not early, f"imported before k6 started:\n{early}"


@pytest.mark.k6
def test_a_traced_script_run_imports_nothing_heavy_before_k6_starts(tmp_path: Path, k6_bin: str):
    # --traces writes the entry script and the tracing module (config.models: the Tracing
    # settings), but renders nothing (no Jinja2) and reads no YAML.
    loaded, chains = _modules_when_k6_starts(tmp_path, k6_bin, "--traces")
    assert "novaload.scenario.tracing" in loaded
    early = _too_early(loaded, (*HEAVY, "yaml", "novaload.config.loader"), chains)
    assert not early, f"imported before k6 started:\n{early}"


def test_chains_name_the_importer():
    log = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       5 |          5 |       numpy.core\n"
        "import time:      10 |         15 |     numpy\n"
        "import time:      20 |         35 |   novaload.results.model\n"
        "import time:       1 |          1 |   json\n"
        "import time:      30 |         66 | novaload.run.pipeline\n"
    )
    assert import_chains(log, {"numpy", "json"}) == {
        "numpy": "novaload.run.pipeline > novaload.results.model > numpy",
        "json": "novaload.run.pipeline > json",
    }


# Runs `python -m novaload ARGS` (or the console script's function) in this interpreter,
# noting in argv[1] whether the atexit handlers ran and whether the interpreter's teardown
# began (it frees the module globals: `witness` is deleted then).
EXIT_PROBE = r"""
import atexit, os, runpy, sys
out, entry, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def note(what):
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, what.encode() + b"\n")
    os.close(fd)

class Witness:
    def __del__(self):
        note("teardown")

witness = Witness()
atexit.register(note, "atexit")
sys.argv = ["novaload", *args]
if entry == "module":
    runpy.run_module("novaload", run_name="__main__", alter_sys=True)
else:
    from importlib.metadata import entry_points
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "novaload"]
    sys.exit(script.load()())
"""


@pytest.mark.parametrize("entry", ["module", "console-script"])
@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["frobnicate"], 2)], ids=["ok", "usage"])
def test_the_command_exits_without_the_interpreters_teardown(
    tmp_path: Path, entry: str, args: list[str], code: int
):
    """After a run the interpreter's teardown (every module and object freed: ~0.1-0.3 s
    with pandas loaded) is only waiting time: novaload flushes its output, runs the atexit
    handlers and ends. The exit code and the output are the command's, as before."""
    out = tmp_path / "notes"
    proc = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, str(out), entry, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stderr
    if code == 0:
        assert proc.stdout.startswith("novaload ")  # flushed before the process ended
    else:
        assert "No such command" in proc.stderr
    assert out.read_text().splitlines() == ["atexit"]


def test_a_k6_that_cannot_run_is_said_first_and_nothing_is_written(tmp_path: Path):
    """`k6 version` runs beside the other checks; its failure still wins over theirs (a
    missing script here), as when it ran first, and nothing is written."""
    from novaload.errors import K6NotFoundError
    from novaload.run.pipeline import run_test
    from novaload.run.prepare import RunRequest

    broken = tmp_path / "k6"
    broken.write_text("#!/bin/sh\necho 'not k6'\n")
    broken.chmod(0o755)
    out = tmp_path / "run"
    for target in (str(tmp_path / "missing.js"), str(tmp_path / "one.js")):
        (tmp_path / "one.js").write_text(SCRIPT)
        with pytest.raises(K6NotFoundError, match="not usable"):
            run_test(RunRequest(target=target, k6=str(broken), out_dir=out, history_dir=tmp_path / "h"))
        assert not out.exists()


@pytest.mark.k6
def test_a_script_run_with_a_target_reads_the_environments_only(tmp_path: Path, k6_bin: str):
    """A script uses an environment (its URL, its headers' secrets), never a profile or a
    scenario: those files are not read on its way to k6 (reading them was most of the
    configuration's cost), so not even a broken one stops it."""
    import shutil

    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs" / "environments", configs / "environments")
    (configs / "scenarios").mkdir()
    (configs / "scenarios" / "broken.yaml").write_text("template: [unclosed\n")  # and no profiles.yaml
    script = tmp_path / "one.js"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "--config-dir", str(configs), "run", str(script), "--k6", k6_bin]
        + [
            "--target",
            "http://127.0.0.1:9",
            "--out-dir",
            str(tmp_path / "run"),
            "--history-dir",
            str(tmp_path / "h"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["target"] == "http://127.0.0.1:9"
