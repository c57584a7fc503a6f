"""k6's own command line through ``novaload run SCRIPT -- K6_ARGS``: parsed as k6 parses it,
checked before a run folder is claimed, merged with what novaload passes, and run by real k6.

The flag table is held against the real ``k6 run --help`` (names, shorthands, which take a
value); the runs are the local runner's (``tests/docker`` and ``tests/k8s`` run the same
command line on theirs).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from test_run_e2e import count_points, novaload

from novaload.errors import ExitCode, UsageError
from novaload.runners import k6args
from novaload.runners.k6args import K6ArgsError, parse

# The issue's example: k6 users' own line, after novaload's `--`.
K6_LINE = ("-e", "FOO=bar", "--tag", "team=perf", "--iterations", "7", "--vus", "1")
FOO_SCRIPT = """
import { check } from 'k6';
export const options = { thresholds: { checks: ['rate==1'] } };
export default function () {
  check(__ENV.FOO, { 'FOO is bar': (v) => v === 'bar' });
  if (__ENV.API_TOKEN) { check(__ENV.API_TOKEN, { 'token came through': (v) => v.length === 12 }); }
}
"""


def _help_flags(k6_bin: str) -> dict[str, tuple[str | None, str]]:
    """``k6 run --help``'s flags: long name → (shorthand, bool|value|optional)."""
    text = subprocess.run([k6_bin, "run", "--help"], capture_output=True, text=True, check=True).stdout
    flags = {}
    for m in re.finditer(r"^\s+(?:-(\w), )?--([a-z][\w-]*)(?: (\S+))?", text, re.M):
        short, name, kind = m.group(1), m.group(2), m.group(3)
        if name == "help":
            continue
        flags[name] = (short, "bool" if kind is None else ("optional" if "[=" in kind else "value"))
    return flags


def test_the_flag_table_is_k6s_own(k6_bin: str):
    shown = _help_flags(k6_bin)
    assert len(shown) > 50  # the parse above read the real help
    version = subprocess.run([k6_bin, "version"], capture_output=True, text=True, check=True).stdout
    this = k6args.k6_version(version.split()[1])
    assert this is not None
    ours = {f.name: (f.short, f.kind) for f in k6args.FLAGS if f.exists_in(this)}
    assert ours == shown


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--vus", "5"], [("vus", "5")]),
        (["--vus=5"], [("vus", "5")]),
        (["-u5"], [("vus", "5")]),
        (["-u=5"], [("vus", "5")]),
        (["-u", "5"], [("vus", "5")]),
        (["-qw"], [("quiet", None), ("throw", None)]),
        (["-qu", "3"], [("quiet", None), ("vus", "3")]),
        (["--http-debug", "--vus", "1"], [("http-debug", None), ("vus", "1")]),  # value only with =
        (["--http-debug=full"], [("http-debug", "full")]),
        (["--no-setup=false"], [("no-setup", "false")]),
        (["-e", "K=a=b"], [("env", "K=a=b")]),
        (["--tag", "name=-x"], [("tag", "name=-x")]),
        (["--out", "--weird"], [("out", "--weird")]),  # a value flag takes the next token, as pflag
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and isinstance(v[0], str) else None,
)
def test_parsed_as_pflag_parses(argv: list[str], expected: list[tuple[str, str | None]]):
    parsed = parse(argv)
    assert [(o.flag.name, o.value) for o in parsed.options] == expected
    assert parsed.argv == tuple(argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--iteration", "7"], "unknown flag --iteration"),
        (["-z"], "unknown shorthand flag 'z'"),
        (["--vus"], "--vus needs a value"),
        (["-u"], "-u (--vus) needs a value"),
        (["--vus", "many"], "--vus 'many': is not a whole number"),
        (["-d", "10"], "is not a duration"),
        (["--tag", "team"], "--tag 'team': should be NAME=VALUE"),
        (["-e", "1X=y"], "'1X' is not a variable name"),
        (["--http-debug=body"], "is not one of headers, full"),
        (["--no-setup=maybe"], "is not true or false"),
        (["script.js"], "novaload passes the script itself"),
        (["--", "-u", "1"], "is not a flag"),
    ],
)
def test_what_k6_would_refuse_is_one_line(argv: list[str], message: str):
    with pytest.raises(K6ArgsError, match=re.escape(message)) as info:
        parse(argv)
    assert info.value.exit_code == ExitCode.USAGE and "\n" not in str(info.value)


def test_a_flag_this_k6_does_not_have_is_named():
    with pytest.raises(K6ArgsError, match=r"--no-summary was removed in k6 2\.0; this k6 is 2\.2"):
        parse(["--no-summary"], k6_version=(2, 2))
    with pytest.raises(K6ArgsError, match=r"--features needs k6 2\.1 or later; this k6 is 1\.1"):
        parse(["--features", "x"], k6_version=(1, 1))
    parse(["--no-summary"], k6_version=(1, 1))


@pytest.mark.parametrize(
    ("argv", "runner", "parallelism", "scenario", "message"),
    [
        (["--address", "0.0.0.0:6565"], "local", 1, False, "novaload starts k6's REST API itself"),
        (["-l"], "local", 1, False, "novaload waits for k6 to exit"),
        (["--paused"], "docker", 1, False, "novaload starts the test itself"),
        (["--execution-segment", "0:1/2"], "docker", 2, False, "use --parallelism N"),
        (["--tag", "testid=mine"], "local", 1, False, "novaload tags every sample with testid"),
        (["--tag", "instance_id=1"], "k8s", 2, False, "with instance_id"),
        (["-i", "7"], "local", 1, True, "a scenario's load is its profile"),
        (["--summary-export", "s.json"], "docker", 2, False, "each k6 instance would write its own part"),
        (["-o", "json=out.json"], "k8s", 1, False, "pods cannot read or write this machine's files"),
        (["--config", "k6.json"], "k8s", 1, False, "pods cannot read or write"),
    ],
)
def test_what_would_fight_novaload_is_refused(
    argv: list[str], runner: str, parallelism: int, scenario: bool, message: str
):
    with pytest.raises(K6ArgsError, match=re.escape(message)):
        k6args.for_run(parse(argv), runner=runner, parallelism=parallelism, scenario=scenario)


def test_what_novaload_passes_anyway_is_merged():
    kept = k6args.for_run(
        parse(["-q", "--tag", "instance_id=1", "-qw"]), runner="local", parallelism=1, scenario=False
    )
    assert kept.argv == ("--tag", "instance_id=1", "-w")


@pytest.mark.parametrize(
    ("values", "environment", "k6"),
    [
        (["staging"], "staging", ()),
        (["FOO=bar", "staging", "X="], "staging", ("-e", "FOO=bar", "-e", "X=")),
        (["FOO=bar"], None, ("-e", "FOO=bar")),
    ],
)
def test_dash_e_is_k6s_with_a_value_and_novaloads_with_a_name(values, environment, k6):
    assert k6args.split_env_option(values) == (environment, k6)


def test_dash_o_is_k6s_for_an_output_and_the_run_folder_otherwise():
    assert k6args.split_out_option(
        ["json=x.json", "reports/mine", "web-dashboard", "xk6-kafka=brokers=a"]
    ) == (
        "reports/mine",
        ("--out", "json=x.json", "--out", "web-dashboard", "--out", "xk6-kafka=brokers=a"),
    )
    with pytest.raises(UsageError, match="one run folder per run"):
        k6args.split_out_option(["a", "b"])


@pytest.mark.k6
def test_k6_users_line_runs_as_under_k6(tmp_path: Path):
    """The issue's done-when: 7 iterations, FOO set (a check that needs it), the tag on the
    samples; --vus once (novaload's --vus and k6's are one), run.json as given."""
    (tmp_path / "p.js").write_text(FOO_SCRIPT)
    out = tmp_path / "run"
    proc = novaload("run", "p.js", "--out-dir", str(out), "--", *K6_LINE, cwd=tmp_path, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert count_points(out / "k6-results.json", "iterations") == 7
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["checks"]["passes"] == 7  # FOO was bar in every iteration
    with (out / "k6-results.json").open() as f:
        tags = {json.loads(x)["data"]["tags"].get("team") for x in f if '"type":"Point"' in x}
    assert tags == {"perf"}
    record = json.loads((out / "run.json").read_text())
    assert record["k6_args"] == list(K6_LINE)


@pytest.mark.k6
def test_k6_short_flags_in_front_of_the_dashes(tmp_path: Path):
    """``-e K=V`` and ``-o OUTPUT`` are k6's in front of ``--`` too; ``-o DIR`` is still the
    run folder, ``-u``/``-d`` are --vus/--duration; a secret-looking -e is masked."""
    (tmp_path / "p.js").write_text(FOO_SCRIPT)
    proc = novaload(
        "run", "p.js", "-e", "FOO=bar", "-e", "API_TOKEN=s3cr3t-t0ken", "-o", "json=mine.json", "-o", "run",
        "-u", "1", "--", "-i", "3",
        cwd=tmp_path,
        timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "run"
    assert count_points(out / "k6-results.json", "iterations") == 3
    assert count_points(tmp_path / "mine.json", "iterations") == 3  # the user's own output, where k6 puts it
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["checks"]["passes"] == 6  # FOO and the token reached the script
    for path in out.iterdir():
        assert "s3cr3t-t0ken" not in path.read_text(errors="replace"), path.name
    assert "s3cr3t-t0ken" not in proc.stdout + proc.stderr
    # Samples leave the run folder (the user's --out): they carry the run id.
    record = json.loads((out / "run.json").read_text())
    with (tmp_path / "mine.json").open() as f:
        point = next(json.loads(x) for x in f if '"type":"Point"' in x)
    assert point["data"]["tags"]["testid"] == record["run_id"]


@pytest.mark.k6
def test_summary_export_of_ones_own_is_honoured(tmp_path: Path):
    (tmp_path / "p.js").write_text("export default function () {}\n")
    proc = novaload(
        "run", "p.js", "--out-dir", "run", "--", "-i", "2", "--summary-export=mine.json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    mine = json.loads((tmp_path / "mine.json").read_text())
    assert mine["metrics"]["iterations"]["count"] == 2
    assert mine == json.loads((tmp_path / "run" / "k6-summary-export.json").read_text())


@pytest.mark.k6
def test_no_thresholds_gives_k6s_verdict(tmp_path: Path, k6_bin: str):
    script = tmp_path / "t.js"
    script.write_text("export const options = { iterations: 2, thresholds: { iterations: ['count<1'] } };\n"
                      "export default function () {}\n")  # fmt: skip
    bare = subprocess.run(
        [k6_bin, "run", "-q", "--no-thresholds", str(script)], capture_output=True, cwd=tmp_path
    )
    proc = novaload("run", "t.js", "--out-dir", "run", "--", "--no-thresholds", cwd=tmp_path)
    assert bare.returncode == proc.returncode == 0, proc.stdout + proc.stderr
    judged = novaload("run", "t.js", "--out-dir", "run2", cwd=tmp_path)
    assert judged.returncode == 99


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--", "--iteration", "7"], "k6 arguments: unknown flag --iteration"),
        (["--", "--address", ":1"], "novaload starts k6's REST API itself"),
        (["--vus", "2", "--", "--vus", "3"], "--vus 2 and k6's --vus 3 after --: give it once"),
        (["--tag", "team=perf"], "--tag is a flag of k6 run: put k6's flags after --"),
        (["-i", "7"], "-i is a flag of k6 run: put k6's flags after --"),
        (["-e", "staging", "-e", "local"], "one environment per run"),
    ],
)
def test_bad_k6_arguments_are_refused_before_the_run_folder_is_claimed(tmp_path: Path, args, message):
    (tmp_path / "p.js").write_text("export default function () {}\n")
    proc = novaload("run", "p.js", "--out-dir", "run", *args, cwd=tmp_path, timeout=60)
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()
