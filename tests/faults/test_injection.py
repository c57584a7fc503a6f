"""Probes: user-controlled text is never interpreted on its way to the terminal.

k6's output, error messages, threshold names, target URLs, profile names and git
branches all reach the console. Rich markup in any of them (``[/]`` closes a tag that
was never opened and raises MarkupError) used to crash novaload, or kill the thread
that drains k6's output so k6 blocked on a full pipe and the run hung for ever.
"""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.k6

MARKUP = "[/]"


def test_k6_log_lines_with_markup_neither_hang_nor_crash_the_run(probe):
    """Enough ``console.warn('[/] …')`` output to fill a pipe many times over."""
    script = probe.script(
        "http.get(__ENV.NOVALOAD_BASE_URL + '/health');\n"
        "for (let i = 0; i < 20; i++) console.warn('[/] [bold]not markup[/bold] ' + 'x'.repeat(2000));",
        options="{ vus: 1, duration: '1s' }",
    )
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--env", "local", "--out-dir", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "[/] [bold]not markup[/bold]" in proc.stderr  # shown as written
    log = (out / "k6.log").read_text()
    assert log.count("[/] [bold]not markup[/bold]") >= 100  # the reader kept draining to the end
    assert probe.record(out)["exit_code"] == 0


def test_a_k6_script_error_with_markup_is_shown_as_written(probe):
    script = probe.script("throw new Error('[red]boom[/] [/]');", options="{ vus: 1, iterations: 1 }")
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--out-dir", str(out), timeout=60)
    probe.no_traceback(proc.stdout, proc.stderr)
    assert "[red]boom[/] [/]" in proc.stderr
    assert probe.record(out)["exit_code"] == proc.returncode


def test_a_threshold_and_a_tag_named_with_markup_are_printed_as_text(probe):
    script = probe.script(
        "http.get(__ENV.NOVALOAD_BASE_URL + '/health', { tags: { name: '[/]' } });",
        options="{ vus: 1, duration: '1s', thresholds: { 'http_req_duration{name:[/]}': ['p(95)<5000'] } }",
    )
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--env", "local", "--out-dir", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "http_req_duration{name:[/]}" in proc.stdout
    assert (out / "report.html").is_file()


def test_a_profile_named_with_markup_is_a_one_line_usage_error(probe):
    proc = probe.run("run", "api", "--env", "local", "--profile", MARKUP, "--out-dir", str(probe.tmp / "r"))
    probe.one_line_error(proc, 2, MARKUP)


def test_a_script_path_with_markup_is_a_one_line_usage_error(probe):
    proc = probe.run("run", f"missing{MARKUP}.js", "--out-dir", str(probe.tmp / "r"))
    probe.one_line_error(proc, 2, f"missing{MARKUP}.js")


def test_a_target_url_with_markup_is_printed_as_text(probe, tmp_path):
    # Nothing listens on port 9 of loopback: k6's requests fail fast, the run still ends.
    script = probe.script("http.get(__ENV.NOVALOAD_BASE_URL);", options="{ vus: 1, iterations: 2 }")
    out = tmp_path / "run"
    target = f"http://127.0.0.1:9/{MARKUP}"
    proc = probe.run("run", str(script), "--target", target, "--out-dir", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert target in proc.stderr
    assert probe.record(out)["target"] == target


def test_a_branch_name_with_markup_is_listed_as_text_by_history(probe, tmp_path):
    """CI names the branch (``GITHUB_HEAD_REF``); the wide history table (the one with the
    git column) shows it as written."""
    script = probe.script("", options="{ vus: 1, iterations: 1 }")
    history = tmp_path / "history"
    branch = f"feature/{MARKUP}[bold]x"
    env = {"GITHUB_HEAD_REF": branch, "NOVALOAD_HISTORY_DIR": str(history)}
    proc = probe.run("run", str(script), "--out-dir", str(tmp_path / "run"), env=env, timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    listed = probe.run("history", "--wide", env=env)
    probe.exit_ok(listed.returncode, 0, listed.stdout, listed.stderr)
    assert branch in listed.stdout


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(probe):
    """OWASP's rule for CSV injection: a leading ', for =, +, -, @, tab and CR."""
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tlead", "plain"]
    calls = "\n".join(
        f"http.get(__ENV.NOVALOAD_BASE_URL + '/health', {{ tags: {{ name: {json.dumps(n)} }} }});"
        for n in names
    )
    script = probe.script(calls, options="{ vus: 1, iterations: 2 }")
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--env", "local", "--out-dir", str(out), timeout=60)
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    with (out / "endpoints.csv").open(newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    for name in names[:-1]:
        assert "'" + name in cells, (name, cells)
        assert name not in cells
    assert "plain" in cells
    numbers = [c for c in cells if c.startswith("'") and c[1:].lstrip("-").replace(".", "", 1).isdigit()]
    assert not numbers  # figures stay numbers


def test_descriptions_with_markup_are_listed_as_written(probe, project):
    config = project(
        "markup", "description: 'staging [/] [bold]copy[/bold] [link=x]y'\nbase_url: http://127.0.0.1:9\n"
    )
    proc = probe.run("--config-dir", str(config), "list")
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "markup" in proc.stdout and "http://127.0.0.1:9" in proc.stdout


def test_an_unknown_environment_named_with_markup_is_a_one_line_usage_error(probe):
    proc = probe.run("run", "api", "--env", f"prod{MARKUP}", "--out-dir", str(probe.tmp / "r"))
    probe.one_line_error(proc, 2, f"prod{MARKUP}")


def test_the_cli_never_writes_rich_markup_strings():
    """The consoles have markup off (user text can never be parsed); a markup string or
    rich's ``escape`` would print literally ("[bold]x[/]", backslashes). novaload styles
    its own words with ``rich.text.Text``."""
    import re
    from pathlib import Path

    cli = Path(__file__).resolve().parents[2] / "novaload" / "cli"
    pattern = re.compile(r"markup=True|rich\.markup|\[/\]|\[(bold|dim|red|green|yellow|cyan)\b")
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(cli.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert not offenders, offenders
