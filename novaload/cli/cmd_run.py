"""``novaload run``: one load test, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import app, console, console_err, state
from novaload.cli.interrupts import InterruptsAroundK6
from novaload.cli.progress import ConsoleObserver
from novaload.cli.summary import print_outcome
from novaload.errors import UsageError


@app.command(no_args_is_help=True)
def run(
    target: Annotated[
        str,
        typer.Argument(
            help="A scenario name (see `novaload list`) or a path to your own k6 script.",
            metavar="SCENARIO|PATH.js",
        ),
    ],
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment [default: $ENVIRONMENT or local].")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Load profile [default: $PROFILE or the scenario's]."),
    ] = None,
    runner: Annotated[str, typer.Option("--runner", help="local, docker or k8s.")] = "local",
    parallelism: Annotated[
        int,
        typer.Option(
            "--parallelism", min=1, max=64, help="k6 instances (execution segments; docker and k8s runners)."
        ),
    ] = 1,
    vus: Annotated[
        int | None, typer.Option("--vus", min=1, help="Peak VUs [$CONCURRENT_USERS]; scales staged profiles.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Total duration, e.g. 30s, 5m [$TEST_DURATION].")
    ] = None,
    target_url: Annotated[
        str | None, typer.Option("--target", help="Base URL of the system under test [$API_TARGET].")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-o", help="Run folder [default: reports/<run-id>].")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the run already in --out-dir (every file it wrote); without it such a folder is refused.",
        ),
    ] = False,
    k6: Annotated[str | None, typer.Option("--k6", help="k6 binary to use [$K6_BINARY].")] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Confirm a run against an environment that requires it (production)."),
    ] = False,
    monitor: Annotated[
        bool,
        typer.Option(
            "--monitor",
            help="Stream metrics and logs to the monitoring stack (Prometheus, InfluxDB, Loki: each "
            "service that answers) and print the Grafana link.",
        ),
    ] = False,
    monitor_native_histograms: Annotated[
        bool,
        typer.Option(
            "--monitor-native-histograms",
            help="With --monitor (implied): send trends to Prometheus as native histograms "
            "[$NOVALOAD_MONITOR_NATIVE_HISTOGRAMS].",
        ),
    ] = False,
    image: Annotated[
        str | None, typer.Option("--image", help="k6 image for the docker and k8s runners.")
    ] = None,
    network: Annotated[str | None, typer.Option("--network", help="Docker network [default: host].")] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="k8s: namespace [default: the kubeconfig context's, else default]."),
    ] = None,
    kube_context: Annotated[
        str | None, typer.Option("--kube-context", help="k8s: kubeconfig context [default: the current one].")
    ] = None,
    k8s_mode: Annotated[
        str,
        typer.Option(
            "--k8s-mode",
            help="k8s: auto (k6-operator TestRun when its CRD is installed, else Jobs), operator or jobs.",
        ),
    ] = "auto",
    host_network: Annotated[
        bool,
        typer.Option(
            "--host-network", help="k8s: runner pods on the node's network (to reach a target on loopback)."
        ),
    ] = False,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Compare with this run at "
            "the end: a run id, folder, results file, "
            "`last` or `last-passing`; exit 3 on "
            "regression.",
            envvar="NOVALOAD_BASELINE",
        ),
    ] = None,
    baseline_branch: Annotated[
        str | None, typer.Option("--baseline-branch", help="Pick the baseline among runs of this git branch.")
    ] = None,
    strict_generator: Annotated[
        bool,
        typer.Option(
            "--strict-generator",
            help="Exit 5 when the load generator was saturated (CPU, dropped iterations, VU ceiling).",
        ),
    ] = False,
    history_dir: Annotated[
        Path | None,
        typer.Option(
            "--history-dir",
            help="Run-history store [default: reports/.history].",
            envvar="NOVALOAD_HISTORY_DIR",
        ),
    ] = None,
    raw: Annotated[
        str,
        typer.Option(
            "--raw",
            help="Keep k6's raw output in the run folder as json (k6-results.json), json.gz "
            "(k6-results.json.gz, ~25x smaller) or none (read through a pipe; only the report is kept).",
            envvar="NOVALOAD_RAW",
        ),
    ] = "json",
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Your script's name in history and baselines [its path from the repository root].",
        ),
    ] = None,
    summary_trend_stats: Annotated[
        str | None,
        typer.Option(
            "--summary-trend-stats",
            help="k6's --summary-trend-stats, e.g. 'avg,med,p(99.99),count' (summary.json keys).",
        ),
    ] = None,
    no_data: Annotated[
        str | None,
        typer.Option(
            "--no-data",
            help="A threshold whose metric got no samples: pass (as k6, flagged) or fail (exit 99).",
            envvar="NOVALOAD_NO_DATA",
        ),
    ] = None,
) -> None:
    """Render a scenario (or take your script), run k6, write the reports, exit like k6."""
    from novaload.run.pipeline import run_test
    from novaload.run.prepare import RAW_RESULTS, RunRequest
    from novaload.runners.base import K8S_MODES, K8sOptions

    if raw not in RAW_RESULTS:
        raise UsageError(f"--raw {raw!r}: expected one of {', '.join(RAW_RESULTS)}")
    if parallelism > 1 and runner == "local":
        raise UsageError("--parallelism > 1 needs --runner docker or k8s (one k6 per container or pod)")
    if k8s_mode not in K8S_MODES:
        raise UsageError(f"--k8s-mode {k8s_mode!r}: use one of {', '.join(K8S_MODES)}")
    k8s_flags = namespace or kube_context or k8s_mode != "auto" or host_network
    if k8s_flags and runner != "k8s":
        raise UsageError("--namespace, --kube-context, --k8s-mode and --host-network need --runner k8s")
    request = RunRequest(
        target=target,
        environment=env,
        profile=profile,
        runner=runner,
        parallelism=parallelism,
        vus=vus,
        duration=duration,
        target_url=target_url,
        out_dir=out_dir,
        overwrite=overwrite,
        k6=k6,
        yes=yes,
        monitor=monitor or monitor_native_histograms,
        monitor_native_histograms=monitor_native_histograms,
        image=image,
        network=network,
        kubernetes=K8sOptions(namespace, kube_context, k8s_mode, host_network) if runner == "k8s" else None,
        config_dir=state.config_dir,
        scenarios_dir=state.scenarios_dir,
        baseline=baseline,
        baseline_branch=baseline_branch,
        history_dir=history_dir,
        strict_generator=strict_generator,
        raw=raw,
        name=name,
        summary_trend_stats=summary_trend_stats,
        no_data=no_data,
    )
    observer = ConsoleObserver(console_err)
    try:
        with InterruptsAroundK6(lambda: observer.k6_started, observer.warn):
            outcome = run_test(request, observer)
    finally:
        observer.close()
    try:
        print_outcome(console, outcome)
    except BrokenPipeError:  # nobody reads stdout any more: the run's exit code still counts
        console.on_broken_pipe()
    raise typer.Exit(outcome.exit_code)
