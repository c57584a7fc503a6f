"""`novaload import har`: a HAR recorded by headless Chromium against the demo target's
browser page (committed, and recorded live) replays green; the filtering, think-time and
secret rules on hand-made recordings; bad recordings are one line and exit 2."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import require_tool

from novaload.config.loader import load_project
from novaload.config.models import ENV_REF
from novaload.importers import import_har, write_scenario
from novaload.target.webapp import DEMO_TOKEN

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRETS = {"DEMO_SHOP_AUTHORIZATION": DEMO_TOKEN, "DEMO_SHOP_COOKIE_PREFS": "compact-view"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        cwd=REPO,
    )


def record_demo_shop(url: str, har: Path) -> None:
    """Headless Chromium opens the demo shop page and Playwright writes the HAR."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(record_har_path=str(har), record_har_content="embed")
            page = context.new_page()
            page.goto(f"{url}/app/")
            page.wait_for_selector("#status:text('done')", timeout=20_000)
            context.close()  # writes the HAR
        finally:
            browser.close()


def replay(config_dir: Path, name: str, target: str, out: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = cli(
        "--config-dir", str(config_dir), "run", name, "--env", "staging", "--target", target,
        "--profile", "dev", "--duration", "4s", "--out-dir", str(out), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def check_demo_shop_import(har: Path, config_dir: Path) -> str:
    imported = import_har(har, name="demo-shop")
    steps = [(e.data["method"], e.data["path"]) for e in imported.endpoints]
    assert steps == [
        ("GET", "/app/"),
        ("GET", "/api/v1/items?limit=5"),
        ("GET", "/api/v1/items/1"),
        ("GET", "/api/v1/search?q=nova"),
        ("POST", "/api/v1/items"),
    ]
    eps = {e.data["name"]: e.data for e in imported.endpoints}
    # the page's pauses (400, 300, 500 ms) are the think times, give or take the request time
    # (upper bounds loose: a busy CI machine stretches a browser's timers)
    assert 0.3 <= eps["get_api_v1_items_1"]["sleep_before"] <= 5
    assert 0.4 <= eps["post_api_v1_items"]["sleep_before"] <= 5
    assert eps["post_api_v1_items"]["body"] == {"name": "from-the-browser", "kind": "demo"}
    assert eps["get_api_v1_search"]["headers"]["Authorization"] == "Bearer ${DEMO_SHOP_AUTHORIZATION}"
    # prefs was set by script: a secret reference; the server's session cookie is the jar's
    assert eps["get_api_v1_search"]["headers"]["Cookie"] == "prefs=${DEMO_SHOP_COOKIE_PREFS}"
    text = write_scenario(imported, config_dir / "scenarios" / "demo-shop.yaml").read_text()
    assert "third-party host http://localhost:" in text
    assert "static asset (--keep-static keeps it): GET http://127.0.0.1:" in text and "/app/app.css" in text
    for value in SECRETS.values():
        assert value not in text
    assert "novaload_session" not in text
    assert load_project(config_dir, REPO / "k6-scenarios").scenarios["demo-shop"].template == "flow.js.j2"
    return text


@pytest.mark.k6
def test_committed_chromium_recording_imports_and_replays_green(
    data_dir: Path, config_dir: Path, tmp_path: Path, k6_bin: str
) -> None:
    from novaload.target.process import TargetProcess

    check_demo_shop_import(data_dir / "har" / "demo-shop.har", config_dir)
    rendered = cli("--config-dir", str(config_dir), "render", "demo-shop", "-o", str(tmp_path / "shop.js"))
    assert rendered.returncode == 0, rendered.stderr
    inspected = subprocess.run([k6_bin, "inspect", str(tmp_path / "shop.js")], capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    with TargetProcess.start() as target:
        summary = replay(config_dir, "demo-shop", target.url, tmp_path / "run", SECRETS)
    metrics = summary["metrics"]
    assert metrics["http_reqs"]["count"] >= 5
    assert metrics["http_req_failed"]["value"] == 0
    assert metrics["checks"]["value"] == 1
    script = (tmp_path / "run" / "demo-shop.js").read_text()
    assert DEMO_TOKEN not in script and "${DEMO_SHOP_AUTHORIZATION}" in script


@pytest.mark.k6
@pytest.mark.browser
def test_live_chromium_recording_imports_and_replays_green(
    config_dir: Path, tmp_path: Path, k6_bin: str
) -> None:
    from novaload.target.process import TargetProcess

    require_tool(shutil.which("chromium") is not None, "chromium not installed (apt-get install chromium)")
    require_tool(
        importlib.util.find_spec("playwright") is not None,
        "playwright not installed (pip install -e .[test])",
    )
    har = tmp_path / "live.har"
    with TargetProcess.start() as target:
        record_demo_shop(target.url, har)
        check_demo_shop_import(har, config_dir)
        summary = replay(config_dir, "demo-shop", target.url, tmp_path / "run", SECRETS)
    assert summary["metrics"]["http_req_failed"]["value"] == 0
    assert summary["metrics"]["checks"]["value"] == 1


# --------------------------------------------------------------------------- rules


def _entry(
    url: str,
    at: float,
    *,
    method: str = "GET",
    status: int = 200,
    kind: str = "fetch",
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    post: dict[str, Any] | None = None,
    set_cookie: str | None = None,
    took_ms: float = 50,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()],
        "cookies": [{"name": k, "value": v} for k, v in (cookies or {}).items()],
    }
    if post is not None:
        request["postData"] = post
    response: dict[str, Any] = {"status": status, "headers": [], "content": {"mimeType": "application/json"}}
    if set_cookie:
        response["headers"].append({"name": "Set-Cookie", "value": set_cookie})
    seconds = int(at)
    stamp = f"2026-12-01T10:00:{seconds:02d}.{int(round((at - seconds) * 1000)):03d}Z"
    return {
        "startedDateTime": stamp,
        "time": took_ms,
        "request": request,
        "response": response,
        "_resourceType": kind,
    }


def _har(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "rec.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}))
    return path


def test_secrets_in_headers_query_body_and_cookies_are_references(tmp_path: Path) -> None:
    token, key, password, csrf = "tok-8d7f6e5a4b", "k-112233445566", "hunter2-very-secret", "csrf-998877"
    har = _har(
        tmp_path,
        [
            _entry("https://shop.test/login", 0, kind="document", set_cookie="sid=abc123; Path=/"),
            _entry(
                "https://shop.test/api/session", 1.0, method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf},
                post={"mimeType": "application/x-www-form-urlencoded", "text": f"user=ann&password={password}"},
            ),
            _entry(
                f"https://shop.test/api/orders?api_key={key}&page=2", 2.5,
                headers={"Authorization": f"Bearer {token}", "X-Trace": f"echo {token}", "Accept": "application/json"},
                cookies={"sid": "abc123", "theme": "dark"},
            ),
            _entry(
                "https://shop.test/api/orders", 3.0, method="POST",
                headers={"Authorization": f"Bearer {token}"},
                post={"mimeType": "application/json", "text": json.dumps({"note": "x", "card": {"token": token}})},
            ),
        ],
    )  # fmt: skip
    imported = import_har(har, name="shop")
    text = imported.to_yaml()
    for secret in (token, key, password, csrf, "dark", "abc123"):
        assert secret not in text, secret
    eps = [e.data for e in imported.endpoints]
    assert eps[1]["body"] == "user=ann&password=${SHOP_BODY_PASSWORD}"
    assert eps[1]["headers"]["X-CSRF-Token"] == "${SHOP_X_CSRF_TOKEN}"
    assert eps[2]["path"] == "/api/orders?api_key=${SHOP_QUERY_API_KEY}&page=2"
    assert eps[2]["headers"]["Authorization"] == "Bearer ${SHOP_AUTHORIZATION}"
    assert eps[2]["headers"]["X-Trace"] == "echo ${SHOP_AUTHORIZATION}"  # the safety net
    assert eps[2]["headers"]["Cookie"] == "theme=${SHOP_COOKIE_THEME}"  # sid comes from the jar
    assert eps[3]["body"] == {"note": "x", "card": {"token": "${SHOP_AUTHORIZATION}"}}
    assert [e["sleep_before"] for e in eps] == [0.0, 0.95, 1.45, 0.45]


def test_secret_variables_of_a_name_starting_with_a_digit_resolve(tmp_path: Path) -> None:
    """A recording named 2fa-login: its variables must match the scripts' ``${[A-Za-z_]...}``
    pattern (``${2FA_LOGIN_AUTHORIZATION}`` would be sent as written) and be exportable."""
    recorded = _har(
        tmp_path, [_entry("https://shop.test/me", 0, headers={"Authorization": "Bearer tok-8d7f6e"})]
    )
    har = recorded.rename(tmp_path / "2fa-login.har")
    imported = import_har(har)
    assert imported.name == "2fa-login"
    header = imported.endpoints[0].data["headers"]["Authorization"]
    assert header == "Bearer ${HAR_2FA_LOGIN_AUTHORIZATION}"
    assert ENV_REF.fullmatch(header.removeprefix("Bearer "))


def test_scenario_on_stdout_is_written_as_generated(tmp_path: Path) -> None:
    """``-o -`` prints the YAML as text: an emoji code in a recorded path (``:warning:``)
    stays as written instead of becoming an emoji on the terminal's way out."""
    har = _har(tmp_path, [_entry("https://shop.test/notes/:warning:/x", 0)])
    done = cli("import", "har", str(har), "--name", "notes", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["endpoints"][0]["path"] == "/notes/:warning:/x"


def test_filters_statuses_and_think_time_cap(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        [
            _entry("http://app.test/", 0, kind="document"),
            _entry("http://app.test/static/site.css", 0.1, kind="stylesheet"),
            _entry("http://app.test/logo.png", 0.1, kind="other"),
            _entry("http://cdn.test/lib.js", 0.2, kind="script"),
            _entry("http://cdn.test/data", 0.3),
            _entry(
                "http://app.test/api/x",
                0.4,
                method="OPTIONS",
                headers={"Access-Control-Request-Method": "POST"},
            ),
            _entry("ws://app.test/live", 0.5, kind="websocket"),
            _entry("http://app.test/api/broken", 0.6, status=0),
            _entry("http://app.test/api/cached", 50, status=304, headers={"If-None-Match": '"v1"'}),
            _entry("http://app.test/old", 51, status=302),
        ],
    )
    imported = import_har(har, max_think_time=5)
    assert [e.data["path"] for e in imported.endpoints] == ["/", "/api/cached", "/old"]
    cached = imported.endpoints[1].data
    assert cached["expect_status"] == [200, 304] and "headers" not in cached
    assert cached["sleep_before"] == 5
    assert imported.endpoints[2].data["expect_status"] == [302]
    listed = "\n".join(imported.skipped)
    assert "third-party host http://cdn.test: 2 request(s)" in listed
    assert "static asset (--keep-static keeps it): GET http://app.test/static/site.css" in listed
    assert "GET http://app.test/logo.png" in listed
    assert "CORS preflight" in listed and "ws request, not replayed" in listed
    assert "api/broken: no response in the recording" in listed
    assert "think time 50.0 s capped at 5 s" in listed
    with_static = import_har(har, keep_static=True)
    assert "/static/site.css" in [e.data["path"] for e in with_static.endpoints]
    cdn = import_har(har, host="cdn.test")
    assert [e.data["path"] for e in cdn.endpoints] == ["/data"]  # its script stays static


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1 column 2"),
        ('{"entries": []}', "log: missing (not a HAR file)"),
        ('{"log": {"entries": {}}}', "log.entries: missing or not a list"),
        ('{"log": {"entries": [{"request": {"method": "GET"}, "startedDateTime": "2026-01-01T00:00:00Z"}]}}',
         "log.entries[0].request.url: missing"),
        ('{"log": {"entries": [{"request": {"method": "GET", "url": "http://a.test/"}, "startedDateTime": "soon"}]}}',
         "log.entries[0].startedDateTime: not an ISO 8601 time"),
        ('{"log": {"entries": []}}', "no http(s) request in the recording"),
    ],
    ids=["json", "log", "entries", "url", "time", "empty"],
)  # fmt: skip
def test_bad_har_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    har = tmp_path / "bad.har"
    har.write_text(content)
    proc = cli("import", "har", str(har), "--output", str(tmp_path / "out.yaml"))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.yaml").exists()


def test_only_static_left_is_exit_2_with_a_hint(tmp_path: Path) -> None:
    har = _har(tmp_path, [_entry("http://a.test/x.css", 0, kind="stylesheet")])
    proc = cli("import", "har", str(har), "-o", "-")
    assert proc.returncode == 2
    assert (
        "no request left to replay for http://a.test (1 static" in proc.stderr
        and "--keep-static" in proc.stderr
    )
    proc = cli("import", "har", str(har), "-o", "-", "--keep-static")
    assert proc.returncode == 0 and yaml.safe_load(proc.stdout)["template"] == "flow.js.j2"
