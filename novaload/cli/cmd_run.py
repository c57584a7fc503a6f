"""``novaload run``: one load test, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import MaxEndpointsOption, app, console, console_err, one_of, state
from novaload.cli.interrupts import InterruptsAroundK6
from novaload.cli.progress import ConsoleObserver
from novaload.cli.summary import print_outcome
from novaload.config.tracing import PROPAGATORS
from novaload.errors import UsageError
from novaload.results.endpoint_cap import DEFAULT_MAX_ENDPOINTS
from novaload.runfolder import RAW_RESULTS_NAMES
from novaload.runners import RUNNER_NAMES
from novaload.runners.base import K8S_MODES, SETUP_MODES
from novaload.runners.image import DEFAULT_IMAGE
from novaload.thresholds import NO_DATA_CHOICES


@app.command(no_args_is_help=True)
def run(
    target: Annotated[
        str,
        typer.Argument(
            help="A scenario name (see `novaload list`) or a path to your own k6 script.",
            metavar="SCENARIO|PATH.js",
        ),
    ],
    k6_args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="-- K6_ARGS",
            help="k6 run's own flags, handed to k6 as written, e.g. -- -e KEY=VALUE --tag team=perf "
            "--iterations 7 --http-debug.",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            "-e",
            metavar="NAME|KEY=VALUE",
            help="An environment from configs/environments.yaml (the target, its secrets, its limits); "
            "KEY=VALUE is k6's -e instead, a variable for the script's __ENV (repeatable).",
            show_default="$ENVIRONMENT or local",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Load profile from configs/profiles.yaml (the shape of the load).",
            show_default="$PROFILE or the scenario's",
        ),
    ] = None,
    runner: Annotated[
        str, typer.Option("--runner", metavar=one_of(RUNNER_NAMES), help="Where k6 runs.")
    ] = "local",
    parallelism: Annotated[
        int,
        typer.Option(
            "--parallelism",
            min=1,
            max=64,
            metavar="N",
            help="k6 instances, each an execution segment of the test (docker and k8s runners).",
        ),
    ] = 1,
    setup: Annotated[
        str | None,
        typer.Option(
            "--setup",
            metavar=one_of(SETUP_MODES),
            help="A split run's setup() and teardown(): once (one runner runs each, every runner gets "
            "setup()'s data before they start together) or per-runner (every runner runs its own).",
            show_default="once; per-runner under k6-operator, which starts the runners itself",
        ),
    ] = None,
    vus: Annotated[
        int | None,
        typer.Option(
            "--vus",
            "-u",
            min=1,
            metavar="N",
            help="Peak VUs (k6's --vus); a staged profile is scaled to it.",
            show_default="$CONCURRENT_USERS or the profile's",
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            "-d",
            metavar="DURATION",
            help="Total duration, e.g. 30s or 5m (k6's --duration); a staged profile is stretched to it.",
            show_default="$TEST_DURATION or the profile's",
        ),
    ] = None,
    target_url: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            help="Base URL of the system under test.",
            show_default="$API_TARGET or the environment's",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", metavar="DIR", help="Run folder.", show_default="reports/<run-id>"),
    ] = None,
    out: Annotated[
        list[str] | None,
        typer.Option(
            "--out",
            "-o",
            metavar="OUTPUT|DIR",
            help="k6's --out, an output beside the run folder's (json=FILE, influxdb=URL, web-dashboard, "
            "NAME=CONFIG; repeatable); a value that is not one is a folder, as --out-dir.",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the run already in --out-dir (every file it wrote); without it such a folder is refused.",
        ),
    ] = False,
    k6: Annotated[
        str | None,
        typer.Option(
            "--k6", metavar="PATH", help="k6 binary to use.", show_default="$K6_BINARY or novaload's"
        ),
    ] = None,
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
            help="Send trends to Prometheus as native histograms (implies --monitor; "
            "also $NOVALOAD_MONITOR_NATIVE_HISTOGRAMS=true).",
        ),
    ] = False,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            metavar="IMAGE",
            help="k6 image for the docker and k8s runners.",
            show_default=f"{DEFAULT_IMAGE} or one built from the local k6",
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(
            "--network", metavar="NAME", help="Docker network for the k6 containers.", show_default="host"
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NAME",
            help="k8s: the namespace to run in.",
            show_default="the kubeconfig context's, else default",
        ),
    ] = None,
    kube_context: Annotated[
        str | None,
        typer.Option(
            "--kube-context", metavar="NAME", help="k8s: kubeconfig context.", show_default="the current one"
        ),
    ] = None,
    k8s_mode: Annotated[
        str,
        typer.Option(
            "--k8s-mode",
            metavar=one_of(K8S_MODES),
            help="k8s: a k6-operator TestRun or plain Jobs; auto takes the operator when its CRD is installed.",
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
            metavar="RUN",
            help="Compare with this run at the end (a run id, folder, results file, last or "
            "last-passing); exit 3 on a regression.",
            envvar="NOVALOAD_BASELINE",
        ),
    ] = None,
    baseline_branch: Annotated[
        str | None,
        typer.Option(
            "--baseline-branch", metavar="BRANCH", help="Pick the baseline among runs of this git branch."
        ),
    ] = None,
    max_endpoints: MaxEndpointsOption = DEFAULT_MAX_ENDPOINTS,
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
            metavar="DIR",
            help="Run-history store.",
            show_default="reports/.history",
            envvar="NOVALOAD_HISTORY_DIR",
        ),
    ] = None,
    raw: Annotated[
        str,
        typer.Option(
            "--raw",
            metavar=one_of(RAW_RESULTS_NAMES),
            help="Keep k6's raw output in the run folder as k6-results.json, as k6-results.json.gz "
            "(~25x smaller), or not at all (read through a pipe; only the reports are kept).",
            envvar="NOVALOAD_RAW",
        ),
    ] = "json",
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="Your script's name in history and baselines.",
            show_default="its path from the repository root",
        ),
    ] = None,
    summary_trend_stats: Annotated[
        str | None,
        typer.Option(
            "--summary-trend-stats",
            metavar="STATS",
            help="k6's --summary-trend-stats, e.g. avg,med,p(99.99),count (the summary.json keys).",
            show_default="avg,min,med,max,p(90),p(95)",
        ),
    ] = None,
    no_data: Annotated[
        str | None,
        typer.Option(
            "--no-data",
            metavar=one_of(NO_DATA_CHOICES),
            help="A threshold whose metric got no samples: pass (as k6 does, flagged) or fail (exit 99).",
            envvar="NOVALOAD_NO_DATA",
            show_default="pass, or the scenario's",
        ),
    ] = None,
    traces: Annotated[
        bool | None,
        typer.Option(
            "--traces/--no-traces",
            help="Trace context on every HTTP request (your script unchanged); the reports link the "
            "slowest and first failed requests to their traces.",
            show_default="the scenario's or environment's tracing:, else off",
        ),
    ] = None,
    trace_propagator: Annotated[
        str | None,
        typer.Option(
            "--trace-propagator",
            metavar=one_of(PROPAGATORS),
            help="Trace context header: w3c (traceparent), jaeger (uber-trace-id) or b3; implies --traces.",
            show_default="w3c, or the tracing: setting's",
        ),
    ] = None,
    trace_sampling: Annotated[
        float | None,
        typer.Option(
            "--trace-sampling",
            metavar="RATIO",
            help="Share of traces marked sampled, from 0 to 1; implies --traces.",
            show_default="1, or the tracing: setting's",
        ),
    ] = None,
    dashboard: Annotated[
        bool | None,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="k6's own web dashboard while k6 runs (its URL is printed; one per k6 instance of a split "
            "run, on port + i) and its HTML export in the run folder, dashboard.html (local and docker "
            "runners).",
            show_default="$K6_WEB_DASHBOARD, else off",
        ),
    ] = None,
    dashboard_host: Annotated[
        str | None,
        typer.Option(
            "--dashboard-host",
            metavar="HOST",
            help="Address the dashboard listens on; empty for every interface (k6's default); implies "
            "--dashboard.",
            show_default="$K6_WEB_DASHBOARD_HOST, else 127.0.0.1",
        ),
    ] = None,
    dashboard_port: Annotated[
        int | None,
        typer.Option(
            "--dashboard-port",
            metavar="PORT",
            help="The dashboard's port (instance i of a split run: PORT + i - 1); implies --dashboard.",
            show_default="$K6_WEB_DASHBOARD_PORT, else 5665",
        ),
    ] = None,
    dashboard_period: Annotated[
        str | None,
        typer.Option(
            "--dashboard-period",
            metavar="DURATION",
            help="How often the dashboard takes a snapshot; k6 exports only a run of two periods or more. "
            "Implies --dashboard.",
            show_default="$K6_WEB_DASHBOARD_PERIOD, else 10s",
        ),
    ] = None,
) -> None:
    """Render a scenario (or take your script), run k6, write the reports, exit like k6."""
    from novaload.run.pipeline import run_test
    from novaload.run.prepare import RAW_RESULTS, RunRequest
    from novaload.runners.base import K8sOptions
    from novaload.runners.k6args import split_env_option, split_out_option

    environment, k6_env = split_env_option(env or ())
    folder, k6_out = split_out_option(out or ())
    if folder is not None and out_dir is not None and Path(folder) != out_dir:
        raise UsageError(f"-o {folder} and --out-dir {out_dir}: one run folder per run")
    if raw not in RAW_RESULTS:
        raise UsageError(f"--raw {raw!r}: expected one of {', '.join(RAW_RESULTS)}")
    if parallelism > 1 and runner == "local":
        raise UsageError("--parallelism > 1 needs --runner docker or k8s (one k6 per container or pod)")
    if setup is not None and setup not in SETUP_MODES:
        raise UsageError(f"--setup {setup!r}: use one of {', '.join(SETUP_MODES)}")
    if setup is not None and parallelism == 1:
        raise UsageError("--setup applies to split runs: add --parallelism N (N > 1)")
    if k8s_mode not in K8S_MODES:
        raise UsageError(f"--k8s-mode {k8s_mode!r}: use one of {', '.join(K8S_MODES)}")
    k8s_flags = namespace or kube_context or k8s_mode != "auto" or host_network
    if k8s_flags and runner != "k8s":
        raise UsageError("--namespace, --kube-context, --k8s-mode and --host-network need --runner k8s")
    request = RunRequest(
        target=target,
        environment=environment,
        profile=profile,
        runner=runner,
        parallelism=parallelism,
        vus=vus,
        duration=duration,
        target_url=target_url,
        out_dir=out_dir or (Path(folder) if folder is not None else None),
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
        max_endpoints=max_endpoints,
        raw=raw,
        name=name,
        summary_trend_stats=summary_trend_stats,
        no_data=no_data,
        extra_k6_args=(*k6_env, *k6_out, *(k6_args or ())),
        setup=setup,
        traces=traces,
        trace_propagator=trace_propagator,
        trace_sampling=trace_sampling,
        dashboard=dashboard,
        dashboard_host=dashboard_host,
        dashboard_port=dashboard_port,
        dashboard_period=dashboard_period,
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
