"""Probes: a secret planted in every place a secret can go is found in no file novaload
wrote (a run folder, a suite folder, the history store, the step summary, an import) and
in nothing it printed, in any encoding (raw, JSON-escaped once or twice, URL-encoded,
HTML-escaped).

``k6-results.json`` is k6's own raw output and stays as k6 wrote it (README says so).
Secrets here are found two ways: by their value (a variable a header references, a
URL's user info, a variable whose name says it is a secret) and by their name (what
follows ``token=``, ``"password":``, ``Authorization:`` in any text).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

REPO = Path(__file__).resolve().parents[2]
RAW_K6_FILES = ("k6-results.json",)


def forms(secret: str) -> dict[str, str]:
    once = json.dumps(secret)[1:-1]
    return {
        "raw": secret,
        "json": once,
        "json-in-logfmt": json.dumps(once)[1:-1],
        "url": quote(secret, safe=""),
        "url-plus": quote_plus(secret),
        "html": html.escape(secret),
    }


def written(*places: Path) -> dict[str, str]:
    """Every file under ``places`` (or the file itself), as text, by path."""
    out: dict[str, str] = {}
    for place in places:
        files = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file())
        for p in files:
            if p.name not in RAW_K6_FILES:
                out[str(p)] = p.read_bytes().decode("utf-8", "replace")
    return out


def assert_nowhere(secret: str, *places: Path, streams: tuple[str, ...] = ()) -> None:
    texts = written(*places)
    texts.update({f"<output {i}>": s for i, s in enumerate(streams)})
    assert len(texts) > len(streams), "nothing was written"
    for name, form in forms(secret).items():
        for where, text in texts.items():
            assert form not in text, f"secret ({name} form {form!r}) found in {where}"


# ---- HAR imports ---------------------------------------------------------------------------


def entry(url: str, *, status: int = 200, mime: str = "application/json", kind: str = "fetch",
          headers: list | None = None) -> dict:  # fmt: skip
    return {
        "startedDateTime": "2024-01-01T00:00:00.000Z", "time": 10, "_resourceType": kind,
        "request": {"method": "GET", "url": url, "headers": headers or []},
        "response": {"status": status, "headers": [], "content": {"mimeType": mime}},
    }  # fmt: skip


def import_har(probe, entries: list[dict]):
    path = probe.tmp / "flow.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "p", "version": "1"},
                                        "entries": entries}}))  # fmt: skip
    out = probe.tmp / "imported.yaml"
    proc = probe.run("import", "har", str(path), "--name", "probe", "--output", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    return out, proc


APP = "http://127.0.0.1:9"


@pytest.mark.parametrize("name", ["token", "access_token", "api_key", "jwt", "pwd"])
def test_a_har_static_assets_query_secret_is_not_copied_into_a_comment(probe, name):
    secret = f"s3cr3t-{name}-{probe.token}"
    out, proc = import_har(probe, [
        entry(f"{APP}/api/items"),
        entry(f"{APP}/app.css?{name}={secret}", mime="text/css", kind="stylesheet"),
    ])  # fmt: skip
    assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


def test_a_har_websocket_query_secret_is_not_copied_into_a_comment(probe):
    secret = f"ws-{probe.token}"
    out, proc = import_har(probe, [
        entry(f"{APP}/api/items"), entry(f"ws://127.0.0.1:9/live?access_token={secret}", kind="websocket"),
    ])  # fmt: skip
    assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


def test_a_har_failed_requests_query_secret_is_not_copied_into_a_comment(probe):
    secret = f"failed-{probe.token}"
    out, proc = import_har(probe, [entry(f"{APP}/api/items"), entry(f"{APP}/api/x?token={secret}", status=0)])
    assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


def test_a_har_third_party_hosts_user_info_is_not_printed(probe):
    secret = f"PASS{probe.token}"
    out, proc = import_har(probe, [entry(f"{APP}/api/items"), entry(f"http://bob:{secret}@127.0.0.2:9/x")])
    assert "third-party" in proc.stdout + proc.stderr
    assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


@pytest.mark.parametrize("name", ["jwt", "pwd"])
def test_a_har_replayed_requests_jwt_and_pwd_become_variables(probe, name):
    secret = f"value-{name}-{probe.token}"
    out, proc = import_har(probe, [entry(f"{APP}/api/items?{name}={secret}")])
    assert "${" in out.read_text()
    assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


def test_an_openapi_servers_user_info_and_example_key_are_not_written(probe):
    password, key = f"pw{probe.token}", f"key{probe.token}"
    spec = {
        "openapi": "3.0.3", "info": {"title": "p", "version": "1"},
        "servers": [{"url": f"http://bob:{password}@127.0.0.1:9/api"}],
        "paths": {"/items": {"get": {
            "parameters": [{"name": "api_key", "in": "query", "required": True, "example": key,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}},
    }  # fmt: skip
    path = probe.tmp / "spec.json"
    path.write_text(json.dumps(spec))
    out = probe.tmp / "imported.yaml"
    proc = probe.run("import", "openapi", str(path), "--name", "probe", "--output", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    for secret in (password, key):
        assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


# ---- a suite -----------------------------------------------------------------------------------


def test_a_suite_targets_password_is_in_no_suite_file_nor_the_step_summary(probe):
    password = f"suitepw-{probe.token}"
    script = probe.script("http.get(__ENV.NOVALOAD_BASE_URL + '/x');", options="{ vus: 1, iterations: 1 }")
    suite = probe.tmp / "suite.yaml"
    suite.write_text(f"description: probe\nruns:\n  - script: {script}\n")
    out, summary = probe.tmp / "suite", probe.tmp / "step-summary.md"
    proc = probe.run(
        "suite", str(suite), "--target", f"http://bob:{password}@127.0.0.1:9", "--out-dir", str(out),
        env={"GITHUB_STEP_SUMMARY": str(summary), "NOVALOAD_HISTORY_DIR": str(probe.tmp / "history")},
        timeout=90,
    )  # fmt: skip
    probe.no_traceback(proc.stdout, proc.stderr)
    assert (out / "suite.json").is_file(), proc.stderr
    assert_nowhere(password, out, summary, probe.tmp / "history", streams=(proc.stdout, proc.stderr))


# ---- a run -----------------------------------------------------------------------------------------


def run_script(probe, body: str, *extra: str, env: dict[str, str] | None = None):
    script = probe.script(body, options="{ vus: 1, iterations: 2 }")
    out, summary = probe.tmp / "run", probe.tmp / "step-summary.md"
    full_env = {"GITHUB_STEP_SUMMARY": str(summary), "NOVALOAD_HISTORY_DIR": str(probe.tmp / "history"),
                **(env or {})}  # fmt: skip
    proc = probe.run("run", str(script), "--out-dir", str(out), *extra, env=full_env, timeout=90)
    probe.no_traceback(proc.stdout, proc.stderr)
    assert (out / "run.json").is_file(), proc.stderr
    return proc, (out, summary, probe.tmp / "history")


@pytest.mark.parametrize(
    "logged",
    [
        "JSON.stringify({ user: 'bob', password: v })",
        "JSON.stringify(JSON.stringify({ access_token: v }))",
        "'GET /login?user=bob&token=' + v",
        "'Cookie: session=' + v",
        "'Authorization: Bearer ' + v",
        "'client_secret=' + v + '&grant_type=x'",
    ],
    ids=[
        "json-password",
        "json-in-json-access-token",
        "query-token",
        "cookie-session",
        "authorization",
        "form",
    ],
)
def test_a_secret_logged_under_its_name_is_masked_everywhere(probe, logged):
    """The value comes from a variable with an innocent name: only the name it is logged
    under says it is a secret."""
    secret = f"v4lue-{probe.token}"
    proc, places = run_script(
        probe,
        f"const v = __ENV.PROBE_VALUE;\nconsole.log({logged});\nconsole.error({logged});\n"
        "http.get(__ENV.NOVALOAD_BASE_URL + '/x');",
        "--target", "http://127.0.0.1:9",
        env={"PROBE_VALUE": secret},
    )  # fmt: skip
    assert "***" in (places[0] / "k6.log").read_text()
    assert_nowhere(secret, *places, streams=(proc.stdout, proc.stderr))


def test_a_secret_named_variable_in_a_url_is_in_no_report_nor_history(probe, recorder):
    """The script puts an API token into the URL: it becomes the endpoint's name in every
    report, summary.json and the history store."""
    secret = f"tok-{probe.token}"
    proc, places = run_script(
        probe,
        "http.get(__ENV.NOVALOAD_BASE_URL + '/items?key=' + __ENV.PROBE_API_TOKEN);",
        "--target", recorder.url,
        env={"PROBE_API_TOKEN": secret},
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert any(secret in r[":path"] for r in recorder.requests)  # k6 sent it
    assert list(places[2].rglob("*.sqlite*")), "no history store was written"
    assert_nowhere(secret, *places, streams=(proc.stdout, proc.stderr))


def test_a_target_password_is_not_printed_in_an_error(probe):
    password = f"errpw-{probe.token}"
    script = probe.script("http.get(__ENV.NOVALOAD_BASE_URL);")
    proc = probe.run("run", str(script), "--target", f"http://bob:{password}@127.0.0.1:port/",
                     "--out-dir", str(probe.tmp / "run"), timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    probe.no_traceback(proc.stdout, proc.stderr)
    for name, form in forms(password).items():
        assert form not in proc.stdout + proc.stderr, f"{name} form printed"


def test_report_masks_secrets_in_a_results_file(probe):
    """``novaload report`` on results someone else recorded: URLs with credentials and
    tokens become endpoint names, and no report shows them."""
    password, token = f"rpw-{probe.token}", f"rtok-{probe.token}"
    url = f"http://bob:{password}@127.0.0.1:9/x?access_token={token}"
    tags = {"name": url, "url": url, "method": "GET", "status": "200", "expected_response": "true"}
    lines = [
        {"type": "Metric", "metric": "http_req_duration", "data": {"name": "http_req_duration", "type": "trend",
         "contains": "time", "thresholds": [], "submetrics": None}},
        *({"type": "Point", "metric": "http_req_duration", "data": {"time": f"2024-01-01T00:00:0{i}Z",
           "value": 10.0 + i, "tags": tags}} for i in range(3)),
        {"type": "Metric", "metric": "http_reqs", "data": {"name": "http_reqs", "type": "counter",
         "contains": "default", "thresholds": [], "submetrics": None}},
        *({"type": "Point", "metric": "http_reqs", "data": {"time": f"2024-01-01T00:00:0{i}Z", "value": 1,
           "tags": tags}} for i in range(3)),
    ]  # fmt: skip
    results = probe.tmp / "results.json"
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out, summary = probe.tmp / "out", probe.tmp / "step-summary.md"
    proc = probe.run("report", str(results), "--out-dir", str(out), env={"GITHUB_STEP_SUMMARY": str(summary)})
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    for secret in (password, token):
        assert_nowhere(secret, out, streams=(proc.stdout, proc.stderr))


@pytest.fixture
def copied_configs(tmp_path: Path) -> Path:
    copy = tmp_path / "configs"
    shutil.copytree(REPO / "configs", copy)
    return copy


# ---- the history store and comparisons --------------------------------------------------------

TOKEN_IN_URL = (
    "http.get(__ENV.NOVALOAD_BASE_URL + '/items?key=' + __ENV.PROBE_API_TOKEN);\n"
    "http.get(__ENV.NOVALOAD_BASE_URL + '/plain');"
)


def history_bytes(history: Path) -> bytes:
    """Every byte of the history store, with each compressed snapshot inflated."""
    import sqlite3
    import zlib

    out = b""
    for db in sorted(history.rglob("*.sqlite*")):
        out += db.read_bytes()
        if db.suffix != ".sqlite":
            continue
        with sqlite3.connect(db) as con:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    for cell in row:
                        if isinstance(cell, bytes):
                            try:
                                out += zlib.decompress(cell)
                            except zlib.error:
                                out += cell
                        elif isinstance(cell, str):
                            out += cell.encode()
    return out


@pytest.mark.parametrize("baseline_from", ["history", "run-folder"])
def test_a_token_in_an_endpoints_url_is_masked_once_so_two_runs_compare_endpoint_by_endpoint(
    probe, recorder, baseline_from
):
    """Run twice with the token in the URL (and in the environment); the second compares
    with the first, from its snapshot in the history store (its folder gone, as in CI) or
    from its folder: every endpoint is matched, and the history never holds the token."""
    secret = f"tok-{probe.token}"
    env = {"PROBE_API_TOKEN": secret, "NOVALOAD_HISTORY_DIR": str(probe.tmp / "history")}
    script = probe.script(TOKEN_IN_URL, options="{ vus: 1, iterations: 20 }")
    first = probe.tmp / "first"
    proc = probe.run("run", str(script), "--out-dir", str(first), "--target", recorder.url, env=env)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    if baseline_from == "history":
        shutil.rmtree(first)
    second = probe.tmp / "second"
    proc = probe.run(
        "run", str(script), "--out-dir", str(second), "--target", recorder.url, "--baseline", "last", env=env
    )
    probe.no_traceback(proc.stdout, proc.stderr)
    assert "compared with baseline" in proc.stdout + proc.stderr, proc.stderr[-2000:]
    report = (second / "report.md").read_text()
    assert "missing endpoint" not in report and "new endpoint" not in report, report
    compared = [line for line in report.splitlines() if "/items?key=" in line and "→" in line]
    assert len(compared) == 1, report  # the endpoint with the token, matched with itself
    assert secret.encode() not in history_bytes(probe.tmp / "history")
    assert_nowhere(secret, second, probe.tmp / "history", streams=(proc.stdout, proc.stderr))
