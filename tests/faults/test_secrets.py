"""Probes: secrets reach k6 through its environment only, and nothing novaload writes or
prints shows them, in any form k6 prints them (as given, JSON-escaped, URL-encoded).

``k6-results.json`` is k6's own raw output and is not rewritten: a script that puts a
secret into a URL or tag puts it there (docs/configuration.md says so).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

pytestmark = pytest.mark.k6

RAW_K6_FILES = ("k6-results.json",)


def forms(secret: str) -> dict[str, str]:
    """How ``secret`` can be printed: as given, escaped once or twice (JSON in a logfmt
    line), URL-encoded, HTML-escaped (report.html)."""
    once = json.dumps(secret)[1:-1]
    return {
        "raw": secret,
        "json": once,
        "json-in-logfmt": json.dumps(once)[1:-1],
        "url": quote(secret, safe=""),
        "url-plus": quote_plus(secret),
        "html": html.escape(secret),
    }


def assert_nowhere(secret: str, out: Path, *streams: str) -> None:
    written = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in RAW_K6_FILES
    )
    for name, form in forms(secret).items():
        for where, text in [("run folder", written), *(("output", s) for s in streams)]:
            assert form not in text, f"secret ({name} form {form!r}) found in {where}"


def env_with_secret_header(url: str, var: str = "PROBE_SECRET") -> str:
    return (
        "description: a system under test that records what it receives\n"
        f"base_url: {url}\n"
        "headers:\n"
        f'  X-Probe-Token: "${{{var}}}"\n'
    )


def test_secrets_with_quotes_backslashes_and_url_encoding_are_redacted(probe, recorder, project):
    secret = f'pa"ss\\wo rd&=?/{probe.token}'
    config = project("probe", env_with_secret_header(recorder.url))
    script = probe.script(
        "http.get(__ENV.NOVALOAD_BASE_URL + '/?q=' + encodeURIComponent(__ENV.PROBE_SECRET),\n"
        "  { headers: { 'X-Probe-Token': __ENV.PROBE_SECRET } });\n"
        "console.log(JSON.stringify({ token: __ENV.PROBE_SECRET }));\n"
        "console.warn('raw ' + __ENV.PROBE_SECRET);\n"
        "console.error('encoded ' + encodeURIComponent(__ENV.PROBE_SECRET));",
        options="{ vus: 1, iterations: 2 }",
    )
    out = probe.tmp / "run"
    proc = probe.run(
        "--config-dir", str(config), "run", str(script), "--env", "probe", "--out-dir", str(out),
        env={"PROBE_SECRET": secret},
        timeout=60,
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert recorder.header_values("x-probe-token") == {secret}  # k6 had it
    assert "***" in (out / "k6.log").read_text()  # each form was there, masked
    assert_nowhere(secret, out, proc.stdout, proc.stderr)


def test_credentials_in_the_target_url_are_used_but_written_nowhere(probe, recorder, project):
    password = f"pa@ss:{probe.token}"
    target = f"{recorder.url.replace('http://', 'http://probeuser:' + quote(password, safe='') + '@')}"
    config = project("plain", "description: no headers\nbase_url: http://127.0.0.1:9\n")
    out = probe.tmp / "run"
    proc = probe.run(
        "--config-dir", str(config), "run", "api", "--env", "plain", "--target", target,
        "--profile", "dev", "--duration", "1s", "--out-dir", str(out),
        timeout=60,
    )  # fmt: skip
    probe.no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode in (0, 99), proc.stderr  # the recorder's answers are not the demo's
    expected = "Basic " + base64.b64encode(f"probeuser:{password}".encode()).decode()
    assert recorder.header_values("authorization") == {expected}  # k6 authenticated with them
    script = (out / "api.js").read_text()
    assert recorder.url in script and "probeuser" not in script
    assert probe.record(out)["target"] == recorder.url
    assert_nowhere(password, out, proc.stdout, proc.stderr)


@pytest.mark.docker
def test_the_docker_runner_passes_header_secrets_to_k6_through_its_environment(
    probe, recorder, project, k6_image
):
    secret = f"docker-{probe.token}"
    config = project("probe", env_with_secret_header(recorder.url))
    out = probe.tmp / "run"
    proc = probe.run(
        "--config-dir", str(config), "run", "api", "--env", "probe", "--profile", "dev", "--duration", "1s",
        "--runner", "docker", "--image", k6_image, "--out-dir", str(out),
        env={"PROBE_SECRET": secret},
        timeout=90,
    )  # fmt: skip
    probe.no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode in (0, 99), proc.stderr
    assert recorder.requests, "k6 in the container sent nothing"
    assert recorder.header_values("x-probe-token") == {secret}
    assert_nowhere(secret, out, proc.stdout, proc.stderr)
    assert not probe.containers(probe.record(out)["run_id"])


def test_a_header_secret_that_is_not_set_is_named_in_a_warning(probe, recorder, project):
    config = project("probe", env_with_secret_header(recorder.url, "PROBE_UNSET_SECRET"))
    script = probe.script("http.get(__ENV.NOVALOAD_BASE_URL);", options="{ vus: 1, iterations: 1 }")
    out = probe.tmp / "run"
    proc = probe.run("--config-dir", str(config), "run", str(script), "--env", "probe", "--out-dir", str(out))
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "PROBE_UNSET_SECRET" in proc.stderr and "is not set" in proc.stderr
    assert any("PROBE_UNSET_SECRET" in w for w in probe.record(out)["warnings"])


def test_url_credentials_in_k6s_request_errors_are_redacted(probe):
    """Nothing listens on the target: k6 logs each failed request with its URL."""
    password = f"pw-{probe.token}"
    script = probe.script("http.get(__ENV.NOVALOAD_BASE_URL + '/x');", options="{ vus: 1, iterations: 2 }")
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--target", f"http://probe:{password}@127.0.0.1:9", "--out-dir", str(out),
        timeout=60,
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "Request Failed" in (out / "k6.log").read_text()
    assert_nowhere(password, out, proc.stdout, proc.stderr)
