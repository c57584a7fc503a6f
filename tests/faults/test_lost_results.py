"""Probes: a run whose results did not all arrive is never "passed".

k6 exits 0 and has counted every sample (its ``--summary-export``), but what novaload
reads of one instance is less: its results file missing, empty, cut mid-line, or whole
lines lost at the end (a stream that broke between lines). The fault is real: a wrapper
around the real k6 has k6 write its JSON output aside and, once k6 has exited 0, puts
only part of it where novaload reads (``--k6`` for the local runner; an image whose
``k6`` is that wrapper, with a static busybox, for the Docker runner). The run must exit
4 with one line naming the instance and what arrived against what k6 counted.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6

# Run by busybox's sh in the image, by /bin/sh here; every tool is busybox's, in both.
WRAPPER = """#!/bin/sh
# The real k6, its JSON output ({victim}) written aside; once k6 has exited, what novaload
# reads is made from it as {fault_file} says.
if [ "$1" != run ]; then exec {k6} "$@"; fi
out=""
for a do
  shift
  case "$a" in json=*{victim}*) out="${{a#json=}}"; a="json=$out.full";; esac
  set -- "$@" "$a"
done
# k6 in the background, so a signal to this shell (PID 1 in the image) reaches it.
{k6} "$@" &
pid=$!
trap 'kill -INT $pid' INT
trap 'kill -TERM $pid' TERM
while :; do
  wait $pid
  rc=$?
  kill -0 $pid 2>/dev/null || break
done
if [ -n "$out" ]; then
  case "$(busybox cat {fault_file})" in
    missing) ;;
    empty) : > "$out" ;;
    cut) n=$(busybox wc -l < "$out.full"); busybox head -n $((n / 2)) "$out.full" > "$out"
         busybox sed -n "$((n / 2 + 1))p" "$out.full" | busybox head -c 10 >> "$out" ;;
    lines) n=$(busybox wc -l < "$out.full"); busybox head -n $((n / 2)) "$out.full" > "$out" ;;
    *) busybox cp "$out.full" "$out" ;;
  esac
  busybox rm -f "$out.full"
fi
exit $rc
"""

SCRIPT_OPTIONS = "{ vus: 2, iterations: 40 }"
SCRIPT_BODY = "http.get(__ENV.BASE + '/items');"


def busybox() -> str:
    from support import require_tool

    path = shutil.which("busybox")
    require_tool(path is not None, "busybox not found (apt-get install busybox-static)")
    assert path is not None
    return path


def k6() -> str:
    from support import k6_path, require_tool

    path = k6_path()
    require_tool(path is not None, "k6 binary not found")
    assert path is not None
    return path


def write_wrapper(path: Path, *, k6_path: str, victim: str, fault_file: Path) -> Path:
    path.write_text(WRAPPER.format(k6=k6_path, victim=victim, fault_file=fault_file))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def assert_not_passed(probe, proc, out: Path, *fragments: str) -> str:
    probe.exit_ok(proc.returncode, 4, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if "its results did not all arrive" in line]
    assert len(lines) == 1, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    record = probe.record(out)
    assert record["exit_code"] == 4 and record["verdict"] != "passed", record
    assert any("its results did not all arrive" in w for w in record["warnings"]), record["warnings"]
    return lines[0]


# ---- the local runner ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["cut", "lines", "empty"])
def test_a_local_run_whose_results_file_lost_its_end_is_not_passed(probe, recorder, fault):
    busybox()
    fault_file = probe.tmp / "fault"
    fault_file.write_text(fault)
    wrapper = write_wrapper(
        probe.tmp / "k6-wrapper", k6_path=k6(), victim="k6-results.json", fault_file=fault_file
    )
    script = probe.script(SCRIPT_BODY, options=SCRIPT_OPTIONS)
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--k6", str(wrapper), "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}"
    )
    line = assert_not_passed(probe, proc, out, "k6: ", "k6-results.json", "http_reqs 40")
    if fault == "cut":
        assert "its last line cut" in line


def test_a_local_run_whose_results_arrived_whole_still_passes(probe, recorder):
    """The same wrapper passing the whole file on: the probe's fault is the only difference."""
    busybox()
    fault_file = probe.tmp / "fault"
    fault_file.write_text("none")
    wrapper = write_wrapper(
        probe.tmp / "k6-wrapper", k6_path=k6(), victim="k6-results.json", fault_file=fault_file
    )
    script = probe.script(SCRIPT_BODY, options=SCRIPT_OPTIONS)
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--k6", str(wrapper), "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}"
    )
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "did not all arrive" not in proc.stderr


# ---- the Docker runner ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lossy_image(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """An image whose ``k6`` is the wrapper (runner 2 of 2 loses results as the fault file
    says) around the real k6; the fault file sits in a folder mounted at its own path."""
    from support import require_tool

    from novaload.errors import RunnerError
    from novaload.runners.image import docker_client

    try:
        client = docker_client()
    except RunnerError as exc:
        require_tool(False, f"Docker engine: {exc}")
        return
    shared = tmp_path_factory.mktemp("lossy")
    context = tmp_path_factory.mktemp("lossy-image")
    shutil.copy2(busybox(), context / "busybox")
    shutil.copy2(k6(), context / "k6")
    (context / "tmp").mkdir()
    os.chmod(context / "tmp", 0o1777)
    write_wrapper(
        context / "k6-wrapper", k6_path="/usr/bin/k6.real", victim="2of2", fault_file=shared / "fault"
    )
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sh\nCOPY k6 /usr/bin/k6.real\n"
        "COPY k6-wrapper /usr/bin/k6\nCOPY tmp /tmp\nENV HOME=/tmp PATH=/usr/bin:/bin\n"
        'ENTRYPOINT ["/usr/bin/k6"]\n'
    )
    tag = f"novaload/k6-lossy:faults-{os.getpid()}"
    client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    try:
        yield tag, shared
    finally:
        client.images.remove(tag, noprune=False)
        client.close()


def docker_run(probe, recorder, image: str, shared: Path, fault: str):
    (shared / "fault").write_text(fault)
    script = shared / f"{probe.token}.js"
    script.write_text(probe.script(SCRIPT_BODY, options=SCRIPT_OPTIONS).read_text())
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--runner", "docker", "--image", image, "--parallelism", "2",
        "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}",
        timeout=180,
    )  # fmt: skip
    return proc, out


@pytest.mark.docker
@pytest.mark.parametrize("fault", ["missing", "empty", "cut", "lines"])
def test_a_split_docker_run_missing_part_of_one_runners_results_is_not_passed(
    probe, recorder, lossy_image, fault
):
    image, shared = lossy_image
    proc, out = docker_run(probe, recorder, image, shared, fault)
    fragments = ["runner 2/2", "k6-results-2of2.json", "http_reqs 20"]
    if fault == "missing":
        fragments.append("is missing")
    line = assert_not_passed(probe, proc, out, *fragments)
    assert "runner 1/2" not in line
    assert probe.containers(probe.record(out)["run_id"]) == []


@pytest.mark.docker
def test_a_split_docker_run_whose_results_all_arrived_passes(probe, recorder, lossy_image):
    image, shared = lossy_image
    proc, out = docker_run(probe, recorder, image, shared, "none")
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert "did not all arrive" not in proc.stderr


def test_without_k6s_summary_a_cut_last_line_is_still_not_passed(probe, recorder):
    """``--no-summary``: k6 writes no count to hold the file against, but a k6 that exited 0
    never leaves its last line cut."""
    busybox()
    fault_file = probe.tmp / "fault"
    fault_file.write_text("cut")
    wrapper = write_wrapper(
        probe.tmp / "k6-wrapper", k6_path=k6(), victim="k6-results.json", fault_file=fault_file
    )
    script = probe.script(SCRIPT_BODY, options=SCRIPT_OPTIONS)
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--k6", str(wrapper), "--out-dir", str(out),
        "--", "--no-summary", "-e", f"BASE={recorder.url}",
    )  # fmt: skip
    assert_not_passed(probe, proc, out, "its last line cut", "k6 wrote no summary to compare with")


@pytest.mark.docker
def test_a_split_docker_run_with_a_runner_k6_gave_no_vus_passes(probe, recorder, lossy_image):
    """One VU for two runners: runner 2 runs nothing and writes an empty file, and k6's
    summary of it counts nothing: that is whole."""
    image, shared = lossy_image
    (shared / "fault").write_text("none")
    script = shared / f"{probe.token}.js"
    script.write_text(probe.script(SCRIPT_BODY, options="{ vus: 1, iterations: 3 }").read_text())
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--runner", "docker", "--image", image, "--parallelism", "2",
        "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}",
        timeout=180,
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    assert (out / "k6-results-2of2.json").stat().st_size == 0
    assert "did not all arrive" not in proc.stderr


# ---- `report` on what a run left -----------------------------------------------------------------


def test_report_of_a_run_folder_whose_results_did_not_all_arrive_is_not_passed(probe, recorder):
    """``novaload report RUN_FOLDER`` judges the folder as the run did: exit 4, not a pass
    on the lines that are there."""
    busybox()
    fault_file = probe.tmp / "fault"
    fault_file.write_text("lines")
    wrapper = write_wrapper(
        probe.tmp / "k6-wrapper", k6_path=k6(), victim="k6-results.json", fault_file=fault_file
    )
    script = probe.script(SCRIPT_BODY, options=SCRIPT_OPTIONS)
    out = probe.tmp / "run"
    probe.run(
        "run", str(script), "--k6", str(wrapper), "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}"
    )
    again = probe.tmp / "again"
    proc = probe.run("report", str(out), "--out-dir", str(again))
    probe.exit_ok(proc.returncode, 4, proc.stdout, proc.stderr)
    assert "k6: its results did not all arrive" in proc.stdout + proc.stderr
    assert "http_reqs 40" in proc.stdout + proc.stderr


def test_report_with_another_runs_k6_summary_is_refused(probe, recorder):
    """``--k6-summary`` of another run would judge these results by its script's
    thresholds and duration: one line, exit 2; the run's own summary is taken."""

    def run(name: str, options: str) -> Path:
        script = probe.script(SCRIPT_BODY, options=options, name=f"{name}.js")
        out = probe.tmp / name
        proc = probe.run("run", str(script), "--out-dir", str(out), "--", "-e", f"BASE={recorder.url}")
        assert proc.returncode in (0, 99), proc.stderr[-2000:]
        return out

    ours = run("ours", "{ vus: 1, iterations: 10 }")
    theirs = run("theirs", "{ vus: 1, iterations: 25, thresholds: { http_req_duration: ['p(95)<0.0001'] } }")
    proc = probe.run(
        "report", str(ours / "k6-results.json"), "--k6-summary", str(theirs / "k6-summary-export.json"),
        "--out-dir", str(probe.tmp / "mixed"),
    )  # fmt: skip
    probe.one_line_error(proc, 2, "is not k6's summary of these results", "iterations 25", "hold 10")
    proc = probe.run(
        "report", str(ours / "k6-results.json"), "--k6-summary", str(ours / "k6-summary-export.json"),
        "--out-dir", str(probe.tmp / "own"),
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
