"""``--traces``: the entry script and tracing module k6 runs, checked with the real k6.

The propagators' header formats and the sampling flag as a loopback server receives them,
the metadata k6 writes (a trace id only on sampled requests), ``k6 inspect`` and
``k6 archive`` on the entry script, awkward script paths, a script that traces itself,
and how ``--traces`` and ``tracing:`` settings combine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from trace_server import TraceServer

from novaload.config.models import Environment, Scenario, Tracing
from novaload.errors import UsageError
from novaload.run.prepare import RunRequest, prepare
from novaload.scenario import tracing as traces

SCRIPT = """
import http from 'k6/http';
export const options = { vus: 1, iterations: 4, tags: { team: 'web' } };
export default function () {
  http.get(`${__ENV.TRACE_TARGET}/fast`);
  http.post(`${__ENV.TRACE_TARGET}/fast`, 'x', { headers: { 'X-Mine': '1' }, tags: { name: 'post' } });
}
"""
FORMATS = {
    "w3c": (
        "traceparent",
        re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-(0[01])$"),
        {"01": True, "00": False},
    ),
    "jaeger": (
        "uber-trace-id",
        re.compile(r"^([0-9a-f]{32}):[0-9a-f]{16}:0:([01])$"),
        {"1": True, "0": False},
    ),
    "b3": ("b3", re.compile(r"^([0-9a-f]{32})-[0-9a-f]{16}-([01])$"), {"1": True, "0": False}),
}
FORMATS_HEADERS = [h for h, _, _ in FORMATS.values()]


def _traced(tmp_path: Path, script: Path, **settings: object) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    traced = traces.traced_script(script, run_dir, Tracing(**settings))  # type: ignore[arg-type]
    for path, content in traced.files:
        path.write_bytes(content)
    return traced.entry


def _k6(
    k6_bin: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [k6_bin, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "NOVALOAD_RUN_ID": "run-1", **(env or {})},
    )


def _metadata_ids(results: Path) -> set[str]:
    ids = set()
    for line in results.read_text().splitlines():
        doc = json.loads(line)
        if doc.get("type") == "Point" and doc["metric"] == "http_req_duration":
            ids.add((doc["data"].get("metadata") or {}).get("trace_id"))
    return ids


@pytest.mark.k6
@pytest.mark.parametrize("propagator", sorted(FORMATS))
@pytest.mark.parametrize("sampling", [1.0, 0.0])
def test_each_propagator_s_header_reaches_the_server(
    tmp_path: Path, k6_bin: str, propagator: str, sampling: float
) -> None:
    script = tmp_path / "script.js"
    script.write_text(SCRIPT)
    entry = _traced(tmp_path, script, propagator=propagator, sampling=sampling)
    with TraceServer(tmp_path) as server:
        proc = _k6(
            k6_bin,
            "run",
            "-q",
            "--out",
            f"json={tmp_path / 'out.json'}",
            str(entry),
            cwd=tmp_path,
            env={"TRACE_TARGET": server.url},
        )
        received = server.requests()
    assert proc.returncode == 0, proc.stderr[-2000:]
    header, pattern, flags = FORMATS[propagator]
    ids = []
    for r in received:
        m = pattern.match(r[header] or "")
        assert m, (propagator, r)
        assert flags[m.group(2)] is (sampling == 1.0)
        assert r["baggage"] == "testid=run-1"
        assert all(r[h] is None for h in FORMATS_HEADERS if h != header)  # one propagator's header only
        ids.append(m.group(1))
    assert len(received) == 8 and len(set(ids)) == 8
    # the trace id is the samples' metadata only when the trace is sampled
    assert _metadata_ids(tmp_path / "out.json") == (set(ids) if sampling == 1.0 else {None})


@pytest.mark.k6
def test_a_ratio_samples_about_that_share_of_traces(tmp_path: Path, k6_bin: str) -> None:
    script = tmp_path / "script.js"
    script.write_text(SCRIPT.replace("iterations: 4", "iterations: 100"))
    entry = _traced(tmp_path, script, sampling=0.3)
    with TraceServer(tmp_path) as server:
        proc = _k6(
            k6_bin,
            "run",
            "-q",
            "--out",
            f"json={tmp_path / 'out.json'}",
            str(entry),
            cwd=tmp_path,
            env={"TRACE_TARGET": server.url},
        )
        received = server.requests()
    assert proc.returncode == 0, proc.stderr[-2000:]
    sampled = {r["traceparent"][3:35] for r in received if r["traceparent"].endswith("-01")}
    assert 20 <= len(sampled) <= 110  # 200 requests at 0.3: 60 expected, far from 0 and 200
    assert _metadata_ids(tmp_path / "out.json") - {None} == sampled


@pytest.mark.k6
def test_k6_inspect_and_archive_work_on_the_entry_script(tmp_path: Path, k6_bin: str) -> None:
    # a folder name that needs quoting and percent-encoding in the entry script's import
    folder = tmp_path / "my tests" / "it's ü"
    folder.mkdir(parents=True)
    (folder / "data.json").write_text('{"path": "/fast"}')
    (folder / "lib.js").write_text("export const DATA = JSON.parse(open('./data.json'));\n")
    script = folder / "script.js"
    script.write_text("import { DATA } from './lib.js';\n" + SCRIPT.replace("/fast`);", "${DATA.path}`);"))
    entry = _traced(tmp_path, script)
    plain = _k6(k6_bin, "inspect", str(script), cwd=tmp_path)
    wrapped = _k6(k6_bin, "inspect", str(entry), cwd=tmp_path)
    assert plain.returncode == 0 and wrapped.returncode == 0, wrapped.stderr
    assert json.loads(wrapped.stdout) == json.loads(plain.stdout)  # the script's options, unchanged
    archive = tmp_path / "archive.tar"
    made = _k6(k6_bin, "archive", "-q", "-O", str(archive), str(entry), cwd=entry.parent)
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(n.endswith("it's ü/script.js") for n in names) and any(
        n.endswith("k6-tracing.js") for n in names
    )
    # the archive runs with the script's folder gone (as in a Kubernetes runner pod)
    folder.rename(tmp_path / "moved")
    with TraceServer(tmp_path) as server:
        ran = _k6(k6_bin, "run", "-q", str(archive), cwd=tmp_path, env={"TRACE_TARGET": server.url})
        received = server.requests()
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert len(received) == 8 and all(FORMATS["w3c"][1].match(r["traceparent"] or "") for r in received)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "import tempo from 'https://jslib.k6.io/http-instrumentation-tempo/1.0.1/index.js';", id="jslib"
        ),
        pytest.param("import tracing from 'k6/experimental/tracing';", id="experimental"),
        pytest.param("tempo.instrumentHTTP({ propagator: 'w3c' });", id="instrumentHTTP"),
        pytest.param("exec.vu.metrics.metadata.trace_id = id;", id="metadata-dot"),
        pytest.param('exec.vu.metrics.metadata["trace_id"] = id;', id="metadata-index"),
    ],
)
def test_a_script_that_traces_itself_is_found(tmp_path: Path, text: str) -> None:
    lib = tmp_path / "lib" / "trace.js"
    lib.parent.mkdir()
    lib.write_text(text + "\n")
    script = tmp_path / "script.js"
    script.write_text("import './lib/trace.js';\nexport default function () {}\n")
    assert traces.instrumented_by(script) == lib.resolve()
    lib.write_text("export const x = 1; // metadata and trace ids are mentioned, not set\n")
    assert traces.instrumented_by(script) is None


def _scenario(**tracing: object) -> Scenario:
    return Scenario(name="s", template="api.js.j2", tracing=Tracing(**tracing) if tracing else None)  # type: ignore[arg-type]


def _environment(**tracing: object) -> Environment:
    return Environment(name="e", base_url="demo", tracing=Tracing(**tracing) if tracing else None)  # type: ignore[arg-type]


def test_the_config_model_and_the_cli_name_the_same_words() -> None:
    from typing import get_args

    from novaload.config.tracing import PROPAGATORS, TRACE_DATASOURCES, TRACE_LINKS

    fields = Tracing.model_fields
    assert get_args(fields["propagator"].annotation) == PROPAGATORS
    assert get_args(fields["links"].annotation) == TRACE_LINKS
    assert get_args(fields["datasource_type"].annotation) == TRACE_DATASOURCES


def test_the_flag_and_the_settings_combine() -> None:
    resolve = traces.resolve
    assert resolve(None, None) is None
    assert resolve(None, None, traces=True) == Tracing()
    assert resolve(None, None, sampling=0.5) == Tracing(sampling=0.5)  # implies --traces
    assert resolve(None, None, propagator="b3") == Tracing(propagator="b3")
    env = _environment(propagator="jaeger", links="grafana")
    assert resolve(None, env) == Tracing(propagator="jaeger", links="grafana")
    assert resolve(_scenario(sampling=0.1), env) == Tracing(sampling=0.1)  # the scenario's wins
    assert resolve(_scenario(enabled=False), None) is None
    assert resolve(_scenario(enabled=False), None, traces=True) == Tracing()
    assert resolve(None, env, traces=False) is None
    assert resolve(None, env, propagator="w3c") == Tracing(propagator="w3c", links="grafana")
    assert Tracing.model_validate(True) == Tracing() and Tracing.model_validate(False) == Tracing(
        enabled=False
    )
    with pytest.raises(UsageError, match="--trace-propagator 'zipkin'"):
        resolve(None, None, propagator="zipkin")
    with pytest.raises(UsageError, match="--trace-sampling 2"):
        resolve(None, None, sampling=2.0)


def test_prepare_runs_the_entry_script_for_a_scenario_and_a_user_script(
    tmp_path: Path, repo_root: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    request = RunRequest(
        target="api", traces=True, config_dir=repo_root / "configs", scenarios_dir=repo_root / "k6-scenarios"
    )
    prepared = prepare(request, "api-1", run_dir)
    assert prepared.script == run_dir / "k6-traced.js" and prepared.script_copy == run_dir / "api.js"
    files = dict(prepared.extra_files)
    assert "file://" + str(run_dir / "api.js") in files[run_dir / "k6-traced.js"].decode()
    assert "__ENV.NOVALOAD_RUN_ID" in files[run_dir / "k6-tracing.js"].decode()  # the same file for every run
    assert prepared.source_dirs == ()
    assert (
        prepare(RunRequest(target="api", config_dir=repo_root / "configs"), "api-2", run_dir).extra_files
        == ()
    )

    script = tmp_path / "mine" / "t.js"
    script.parent.mkdir()
    script.write_text("export default function () {}\n")
    user = prepare(RunRequest(target=str(script), trace_propagator="b3"), "t-1", run_dir)
    assert user.script == run_dir / "k6-traced.js" and user.source_dirs == (script.parent.resolve(),)
    assert user.tracing == Tracing(propagator="b3")
    assert any("b3 trace context on every request" in n for n in user.notes)
