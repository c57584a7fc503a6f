"""The runner interface: how k6 gets launched (local subprocess, Docker, ...).

A runner receives an :class:`ExecutionPlan` (everything k6 needs, already
decided) and returns a :class:`K6Execution` (what happened). It owns the k6
process(es) for their whole life: it must forward one graceful stop on the
first interrupt, kill on the second, and never leave a k6 process or container
behind, whatever happens.

``novaload.runners.get_runner(NAME)`` finds one by a plain lookup (``--runner NAME``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from novaload.runfolder import K6_RESULTS, K6_SUMMARY, K6_SUMMARY_EXPORT
from novaload.runners.dashboard import Dashboard


@dataclass(frozen=True, slots=True)
class K8sOptions:
    """Where and how ``--runner k8s`` runs (see ``novaload.runners.k8s``)."""

    namespace: str | None = None  # None: the kubeconfig context's, else "default"
    context: str | None = None  # kubeconfig context; None: the current one
    mode: str = "auto"  # auto (operator when the TestRun CRD is installed), operator, jobs
    host_network: bool = False  # runner pods on the node's network (reach a loopback target)
    ready_timeout_s: float = 120.0  # runners not all ready by then fail the run


K8S_MODES = ("auto", "operator", "jobs")

# --setup: how a split run (parallelism > 1) runs setup() and teardown().
SETUP_ONCE = "once"  # one runner runs them, every runner gets setup()'s data (runners.setup_once)
SETUP_PER_RUNNER = "per-runner"  # every runner runs its own, as k6-operator does
SETUP_MODES = (SETUP_ONCE, SETUP_PER_RUNNER)


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """Everything a runner needs to start k6 for one run.

    ``k6_args`` are the arguments after ``k6 run`` *except* the script and the
    per-instance outputs, which each runner adds itself (it knows where files
    land inside a container and how many instances it starts).
    """

    run_id: str
    script: Path  # the script to run (rendered, or the user's own file)
    run_dir: Path  # the run folder; results land here
    k6_args: tuple[str, ...]  # e.g. ("--tag", "testid=...", "--vus", "5")
    env: Mapping[str, str]  # extra environment for k6 (never logged: may hold secrets)
    k6_binary: str  # path of the k6 binary (local) or inside the image
    parallelism: int = 1  # k6 instances; >1 uses execution segments
    results_name: str = K6_RESULTS  # per instance: k6-results.json or -<i>of<n>
    summary_name: str = K6_SUMMARY  # handleSummary data (rendered scripts)
    summary_export_name: str = K6_SUMMARY_EXPORT  # --summary-export (all scripts)
    planned_duration_s: float | None = None  # for "remaining" in the progress display
    secrets: tuple[str, ...] = ()  # values to redact from anything logged
    image: str | None = None  # docker: image to run
    network: str | None = None  # docker: named network (None = host network)
    kubernetes: K8sOptions | None = None  # k8s: cluster, namespace, mode
    # k6's working directory: the user's, as under `k6 run` (handleSummary's relative
    # paths land there); None = the run folder (rendered scenarios write nothing relative).
    working_dir: Path | None = None
    # Folders the script imports from besides its own: a traced run's entry script sits in
    # the run folder and imports the user's script from its folder (read-only mounts).
    source_dirs: tuple[Path, ...] = ()
    # A split run's setup() and teardown(): SETUP_ONCE or SETUP_PER_RUNNER as asked; None (not
    # asked) is once wherever the runner can coordinate it (not under k6-operator).
    setup: str | None = None
    # --dashboard: k6's web dashboard, one per instance on port + i, its export in the run
    # folder; each runner sets k6's environment for it (and publishes the port off the host
    # network). None: no dashboard.
    dashboard: Dashboard | None = None


@dataclass(frozen=True, slots=True)
class SetupTeardown:
    """How a split run's setup() and teardown() ran: facts for the report and the outcome.

    ``mode`` SETUP_ONCE: runner ``runner`` (1-based) ran each once, with k6's REST API, and
    every runner got setup()'s data before the release; SETUP_PER_RUNNER: every runner ran its
    own. ``setup``/``teardown``: "called", "failed", "disabled" (the user's noSetup/noTeardown) or
    "not called" (the run stopped before, or the second Ctrl-C). ``error`` is k6's error text for
    the one that failed, from which ``novaload.run.outcome`` takes k6's exit code for it.
    """

    mode: str
    runner: int | None = None
    setup: str = "not called"
    teardown: str = "not called"
    error: str | None = None
    # The coordinating runner's own exit code, and whether novaload stopped it through the
    # REST API for a Ctrl-C (so that teardown() could still run): k6 then exits 103 or 0
    # where one k6 interrupted by Ctrl-C exits 105.
    runner_exit_code: int | None = None
    stopped_for_interrupt: bool = False

    @property
    def failed(self) -> str | None:
        """ "setup" or "teardown" when that one failed."""
        return "setup" if self.setup == "failed" else "teardown" if self.teardown == "failed" else None

    def to_json(self) -> dict[str, object]:
        """For ``summary.json``."""
        if self.mode == SETUP_PER_RUNNER:
            return {"mode": self.mode}
        return {
            "mode": self.mode,
            "runner": self.runner,
            "setup": self.setup,
            "teardown": self.teardown,
            "error": self.error,
        }

    def describe(self, count: int) -> str:
        """One line for the reports and the console."""
        if self.mode == SETUP_PER_RUNNER:
            return (
                f"setup() and teardown() ran in every runner ({count} times, --setup per-runner): "
                "their requests are counted once per runner"
            )
        where = f"once, in runner {self.runner}/{count}" if self.runner else "once"
        states = f"setup() {self.setup}, teardown() {self.teardown}"
        return f"setup() and teardown() {where} for all {count} runners ({states}; --setup once)"


@dataclass(slots=True)
class K6Execution:
    """What a runner reports back: facts only. The run's exit code is decided from them by
    ``novaload.run.outcome`` (a runner never judges)."""

    exit_codes: tuple[int, ...]  # each k6 instance's exit code, in the order they exited
    started_at: datetime
    ended_at: datetime
    results_files: list[Path]  # one per instance, in segment order
    summary_files: list[Path] = field(default_factory=list)  # k6 summaries found
    log_file: Path | None = None
    interrupted: bool = False  # the user pressed Ctrl-C (or SIGTERM arrived)
    killed: bool = False  # k6 had to be killed (second interrupt)
    instances: int = 1
    # Every instance's results are merged and the thresholds judged again over them, so an
    # instance's 99 (its slice failed) is not the run's verdict (novaload.run.outcome).
    thresholds_rejudged: bool = False
    notes: list[str] = field(default_factory=list)  # for the report (e.g. per-runner verdicts)
    # What k6 printed on stdout: its end-of-test summary, or handleSummary's `stdout`
    # (k6's logs go to stderr). Shown to the user of their own script as k6 shows it.
    stdout: str = ""
    setup_teardown: SetupTeardown | None = None  # a split run's; None with one instance
    image: str | None = None  # the k6 image the instances ran (docker, k8s): as given or the default

    @property
    def exit_code(self) -> int:
        """k6's exit code (a split run: the first instance that failed, else 0)."""
        return next((code for code in self.exit_codes if code != 0), 0)


@dataclass(frozen=True, slots=True)
class LiveStats:
    """One poll of k6's REST API, for the progress display."""

    elapsed_s: float
    vus: int = 0
    vus_max: int = 0
    iterations: int = 0
    requests: int = 0
    rps: float = 0.0
    p95_ms: float | None = None
    error_rate: float | None = None
    running: bool = True


def joined_stdout(per_instance: Sequence[Sequence[str]]) -> str:
    """k6's stdout for ``K6Execution.stdout``: one instance's lines as k6 printed them; a
    split run's each instance's in turn, every line labelled ``[i/n]`` as in the logs."""
    count = len(per_instance)
    lines = [
        f"[{index + 1}/{count}] {line}" if count > 1 else line
        for index, instance in enumerate(per_instance)
        for line in instance
    ]
    return "\n".join(lines) + ("\n" if lines else "")


# A progress observer gets a LiveStats per poll and human log lines.
ProgressCallback = Callable[[LiveStats], None]


class Runner(Protocol):
    """Launches k6 for an execution plan and supervises it to the end."""

    name: str

    def check(self, image: str | None = None) -> None:
        """Raise a NovaloadError (one clear line) when this runner cannot work here.

        Called before anything starts (demo target, k6), so a missing Docker engine or
        image is reported at once; ``image`` is the ``--image`` asked for, if any.
        """

    def run(self, plan: ExecutionPlan, progress: ProgressCallback | None = None) -> K6Execution:
        """Run k6 to completion (or interruption) and report what happened."""


# A factory takes the callback for human-readable k6 log lines (warnings, errors).
RunnerFactory = Callable[..., Runner]


__all__ = [
    "K8S_MODES",
    "SETUP_MODES",
    "SETUP_ONCE",
    "SETUP_PER_RUNNER",
    "ExecutionPlan",
    "K6Execution",
    "K8sOptions",
    "LiveStats",
    "ProgressCallback",
    "Runner",
    "RunnerFactory",
    "SetupTeardown",
    "joined_stdout",
]
