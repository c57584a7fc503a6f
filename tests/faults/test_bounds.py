"""Probes: every input format has bounds (size, nesting depth, YAML alias expansion).

A YAML alias bomb is a few hundred bytes that expands to 9^9 nodes; a JSON value nested
100,000 levels deep breaks any recursive parser. Each must be refused in one line naming
the file (and the line or key), exit 2, within a bounded time: the probe's timeout is
far below what expanding the bomb or recursing into it takes.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOUNDED_S = 30  # a bomb expanded, or a RecursionError's traceback, takes far longer or fails
DEEP = 100_000


def bomb(key: str = "bomb", levels: int = 9) -> str:
    """A YAML mapping entry ``key`` whose value expands to 9**levels scalars."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    lines.append(f"{key}: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def deep_json(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def refused(probe, proc, *fragments: str) -> str:
    line = probe.one_line_error(proc, 2, *fragments)
    assert len(line) < 600, f"error line is {len(line)} characters long"
    return line


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    copy = tmp_path / "configs"
    shutil.copytree(REPO / "configs", copy)
    return copy


def run_api(probe, configs: Path, *extra: str):
    out = probe.tmp / "run"
    proc = probe.run(
        "--config-dir", str(configs), "run", "api", "--env", "local", "--profile", "dev",
        "--out-dir", str(out), *extra, timeout=BOUNDED_S,
    )  # fmt: skip
    assert not out.exists(), "a run folder was made for a refused input"
    return proc


# ---- configs/ -----------------------------------------------------------------------------


def test_an_alias_bomb_in_an_environment_file(probe, configs):
    path = configs / "environments" / "local.yaml"
    path.write_text(bomb() + path.read_text())
    refused(probe, run_api(probe, configs), "local.yaml", "expands to more than")


def test_an_alias_bomb_in_profiles_yaml(probe, configs):
    path = configs / "profiles.yaml"
    path.write_text(bomb() + path.read_text())
    refused(probe, run_api(probe, configs), "profiles.yaml", "expands to more than")


def test_an_alias_bomb_in_a_scenario_file(probe, configs):
    path = configs / "scenarios" / "api.yaml"
    path.write_text(bomb("description").replace("description: *l8", "x-bomb: *l8") + path.read_text())
    refused(probe, run_api(probe, configs), "api.yaml", "expands to more than")


def test_an_alias_bomb_as_a_config_value_that_fails_validation(probe, configs):
    """The value quoted by the error is the bomb itself: it must be cut, not expanded."""
    path = configs / "profiles.yaml"
    text = path.read_text()
    assert "    duration: 5s\n" in text
    path.write_text(bomb("x", levels=6) + text.replace("    duration: 5s\n", "    duration: *l5\n", 1))
    proc = run_api(probe, configs)
    line = refused(probe, proc, "profiles.yaml")
    assert "lol" not in line or line.count("lol") < 20, line


def test_a_config_value_of_a_megabyte_is_cut_in_the_error(probe, configs):
    path = configs / "profiles.yaml"
    text = path.read_text()
    path.write_text(text.replace("    duration: 5s\n", f"    duration: {'9' * 1_000_000}x\n", 1))
    refused(probe, run_api(probe, configs), "profiles.yaml", "profiles.dev.duration")


def test_deep_flow_nesting_in_an_environment_file(probe, configs):
    path = configs / "environments" / "local.yaml"
    path.write_text(f"deep: {deep_json()}\n" + path.read_text())
    refused(probe, run_api(probe, configs), "local.yaml", "nested deeper than")


def test_deep_block_nesting_in_a_scenario_file(probe, configs):
    path = configs / "scenarios" / "api.yaml"
    deep = "".join(" " * i + f"k{i}:\n" for i in range(2000))
    path.write_text(deep + path.read_text())
    refused(probe, run_api(probe, configs), "api.yaml", "nested deeper than")


def test_a_config_file_over_the_size_bound(probe, configs):
    path = configs / "profiles.yaml"
    path.write_text(path.read_text() + "# " + "x" * (5 * 1024 * 1024) + "\n")
    refused(probe, run_api(probe, configs), "profiles.yaml", "too large")


def test_an_alias_bomb_in_compare_yaml(probe, configs):
    (configs / "compare.yaml").write_text(bomb() + "compare: {p50_pct: 15}\n")
    proc = probe.run("--config-dir", str(configs), "compare", "last", "last", timeout=BOUNDED_S)
    refused(probe, proc, "compare.yaml", "expands to more than")


def test_deep_nesting_in_compare_yaml(probe, configs):
    (configs / "compare.yaml").write_text(f"compare: {deep_json()}\n")
    proc = probe.run("--config-dir", str(configs), "compare", "last", "last", timeout=BOUNDED_S)
    refused(probe, proc, "compare.yaml", "nested deeper than")


# ---- suite files --------------------------------------------------------------------------


def test_an_alias_bomb_in_a_suite_file(probe):
    suite = probe.tmp / "suite.yaml"
    suite.write_text(bomb("description") + "runs:\n  - scenario: api\n")
    proc = probe.run("suite", str(suite), "--out-dir", str(probe.tmp / "out"), timeout=BOUNDED_S)
    refused(probe, proc, "suite.yaml", "expands to more than")
    assert not (probe.tmp / "out").exists()


def test_deep_nesting_in_a_suite_file(probe):
    suite = probe.tmp / "suite.yaml"
    suite.write_text(f"runs: {deep_json()}\n")
    proc = probe.run("suite", str(suite), "--out-dir", str(probe.tmp / "out"), timeout=BOUNDED_S)
    refused(probe, proc, "suite.yaml", "nested deeper than")


# ---- --thresholds and --k6-summary -------------------------------------------------------


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A small, valid k6 JSON results file."""
    path = tmp_path / "results.json"
    lines = [
        {"type": "Metric", "metric": "http_reqs", "data": {"name": "http_reqs", "type": "counter",
         "contains": "default", "thresholds": [], "submetrics": None}},
        {"type": "Point", "metric": "http_reqs", "data": {"time": "2024-01-01T00:00:00Z", "value": 1,
         "tags": {"name": "x"}}},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def report(probe, results: Path, *extra: str):
    return probe.run("report", str(results), "--out-dir", str(probe.tmp / "out"), *extra, timeout=BOUNDED_S)


def test_deep_json_in_a_thresholds_file(probe, results):
    path = probe.tmp / "thresholds.json"
    path.write_text('{"http_reqs": ' + deep_json() + "}")
    refused(probe, report(probe, results, "--thresholds", str(path)), "thresholds.json", "nested deeper than")


def test_an_alias_bomb_in_a_thresholds_file(probe, results):
    path = probe.tmp / "thresholds.yaml"
    path.write_text(bomb("http_reqs"))
    refused(
        probe, report(probe, results, "--thresholds", str(path)), "thresholds.yaml", "expands to more than"
    )


def test_a_thresholds_file_over_the_size_bound(probe, results):
    path = probe.tmp / "thresholds.yaml"
    path.write_text("http_reqs: ['count>0']\n# " + "x" * (2 * 1024 * 1024) + "\n")
    refused(probe, report(probe, results, "--thresholds", str(path)), "thresholds.yaml", "too large")


def test_deep_json_in_a_k6_summary(probe, results):
    path = probe.tmp / "summary.json"
    path.write_text('{"metrics": {}, "root_group": ' + deep_json() + "}")
    refused(probe, report(probe, results, "--k6-summary", str(path)), "summary.json", "nested deeper than")


# ---- k6 results ------------------------------------------------------------------------------


def deep_point() -> str:
    return (
        '{"type":"Point","metric":"http_reqs","data":{"time":"2024-01-01T00:00:01Z","value":1,"tags":'
        + '{"a":' * DEEP
        + "1"
        + "}" * DEEP
        + "}}\n"
    )


def test_deep_json_in_a_k6_results_line(probe, results):
    with results.open("a") as fh:
        fh.write(deep_point())
    refused(probe, report(probe, results), "results.json:3:", "nested deeper than")


def test_deep_json_in_a_gzipped_k6_results_line(probe, results):
    gz = probe.tmp / "results.json.gz"
    gz.write_bytes(gzip.compress(results.read_bytes() + deep_point().encode()))
    refused(probe, report(probe, gz), "results.json.gz:3:", "nested deeper than")


def test_deep_json_in_a_metric_line(probe, results):
    deep = (
        '{"type":"Metric","metric":"x","data":{"name":"x","type":"counter","thresholds":'
        + deep_json()
        + "}}\n"
    )
    with results.open("a") as fh:
        fh.write(deep)
    refused(probe, report(probe, results), "results.json:3:", "nested deeper than")


# ---- imports -----------------------------------------------------------------------------------


def openapi(paths: dict, components: dict | None = None) -> dict:
    doc = {"openapi": "3.0.3", "info": {"title": "probe", "version": "1"}, "paths": paths}
    if components:
        doc["components"] = components
    return doc


def import_openapi(probe, spec: str):
    out = probe.tmp / "imported.yaml"
    proc = probe.run("import", "openapi", spec, "--name", "probe", "--output", str(out), timeout=BOUNDED_S)
    assert not out.exists()
    return proc


def test_an_alias_bomb_in_an_openapi_example(probe):
    spec = probe.tmp / "spec.yaml"
    spec.write_text(
        bomb("x-lol")
        + "openapi: 3.0.3\ninfo: {title: probe, version: '1'}\n"
        + "paths:\n  /x:\n    post:\n      requestBody:\n        content:\n          application/json:\n"
        + "            example: *l8\n      responses: {'200': {description: ok}}\n"
    )
    refused(probe, import_openapi(probe, str(spec)), "spec.yaml", "expands to more than")


def test_a_ref_web_of_nine_schemas_with_nine_required_properties(probe):
    schemas = {}
    for i in range(9):
        props = {f"p{j}": ({"$ref": f"#/components/schemas/S{i + 1}"} if i < 8 else {"type": "string"})
                 for j in range(9)}  # fmt: skip
        schemas[f"S{i}"] = {"type": "object", "required": list(props), "properties": props}
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}}
    doc = openapi({"/x": {"post": {"requestBody": body, "responses": {"200": {"description": "ok"}}}}},
                  {"schemas": schemas})  # fmt: skip
    spec = probe.tmp / "spec.json"
    spec.write_text(json.dumps(doc))
    refused(probe, import_openapi(probe, str(spec)), "spec.json", "$ref")


def test_deep_nesting_in_an_openapi_json(probe):
    spec = probe.tmp / "spec.json"
    doc = json.dumps(openapi({})).replace('"paths": {}', '"paths": {}, "x-deep": ' + deep_json())
    spec.write_text(doc)
    refused(probe, import_openapi(probe, str(spec)), "spec.json", "nested deeper than")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[callable]:
    """``served(body)``: a loopback URL answering ``body``."""
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(body: str, path: str = "/spec.yaml") -> str:
        bodies[path] = body.encode()
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()


def test_an_alias_bomb_in_an_openapi_url(probe, served):
    url = served(bomb("x-lol") + "openapi: 3.0.3\ninfo: {title: p, version: '1'}\npaths: {}\n")
    refused(probe, import_openapi(probe, url), "spec.yaml", "expands to more than")


def har(entries: list[dict]) -> dict:
    return {"log": {"version": "1.2", "creator": {"name": "probe", "version": "1"}, "entries": entries}}


def test_deep_nesting_in_a_har(probe):
    path = probe.tmp / "flow.har"
    path.write_text(json.dumps(har([])).replace('"entries": []', '"entries": [], "x": ' + deep_json()))
    out = probe.tmp / "imported.yaml"
    proc = probe.run("import", "har", str(path), "--name", "probe", "--output", str(out), timeout=BOUNDED_S)
    refused(probe, proc, "flow.har", "nested deeper than")


def test_deep_nesting_in_a_recorded_json_body(probe):
    entry = {
        "startedDateTime": "2024-01-01T00:00:00.000Z", "time": 10,
        "request": {"method": "POST", "url": "http://127.0.0.1:9/api", "headers": [],
                    "postData": {"mimeType": "application/json", "text": deep_json()}},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json"}},
    }  # fmt: skip
    path = probe.tmp / "flow.har"
    path.write_text(json.dumps(har([entry])))
    out = probe.tmp / "imported.yaml"
    proc = probe.run("import", "har", str(path), "--name", "probe", "--output", str(out), timeout=BOUNDED_S)
    probe.no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 0:  # the body is kept as text, or refused: never a traceback
        assert out.is_file()
