"""``novaload monitor up|down|status``, ``image build`` and ``cleanup``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from novaload.cli.app import app, console, console_err, new_table
from novaload.errors import ExitCode
from novaload.runners.image import DEFAULT_LOCAL_IMAGE

if TYPE_CHECKING:
    from novaload.monitoring.stack import ComposeStack, ServiceStatus

monitor_app = typer.Typer(help="The Prometheus/Grafana/InfluxDB/Loki stack.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")
image_app = typer.Typer(help="The k6 container image.", no_args_is_help=True)
app.add_typer(image_app, name="image")

ComposeFile = Annotated[
    Path | None,
    typer.Option(
        "--compose-file",
        metavar="FILE",
        help="The stack's compose file.",
        show_default="./docker-compose.monitoring.yml, else the packaged one",
    ),
]

ProjectName = Annotated[
    str | None,
    typer.Option(
        "--project-name",
        "-p",
        metavar="NAME",
        help="Compose project name.",
        show_default="$NOVALOAD_MONITORING_PROJECT or novaload-monitoring",
    ),
]


def _stack(compose_file: Path | None, project: str | None = None) -> ComposeStack:
    from novaload.config.loader import PACKAGE_ROOT  # pydantic: only for commands that need it
    from novaload.monitoring.stack import ComposeStack

    path = compose_file or Path("docker-compose.monitoring.yml")
    if compose_file is None and not path.exists():
        path = PACKAGE_ROOT / "docker-compose.monitoring.yml"
    name = project or os.environ.get("NOVALOAD_MONITORING_PROJECT") or "novaload-monitoring"
    return ComposeStack(path, name)


def _print_status(statuses: Iterable[ServiceStatus]) -> bool:
    table = new_table("service", "url", "status", "detail", narrow={"service": 12, "url": 24})
    for s in statuses:
        # Details quote what services answered: never interpreted as markup.
        state = Text("ok", style="green") if s.ok else Text("problem", style="bold red")
        table.add_row(Text(s.name), Text(s.url), state, Text(s.detail))
    console.print(table)
    return all(s.ok for s in statuses)


@monitor_app.command()
def up(
    compose_file: ComposeFile = None,
    project: ProjectName = None,
    wait: Annotated[
        float,
        typer.Option("--wait", metavar="SECONDS", help="How long to wait for every service to be healthy."),
    ] = 120.0,
) -> None:
    """Start the stack, wait until healthy, print the URLs."""
    stack = _stack(compose_file, project)
    ok = _print_status(stack.up(wait_timeout=wait))
    for name, url in stack.urls().items():
        console.print(f"  {name:<28} {url}", highlight=False)
    raise typer.Exit(ExitCode.OK if ok else ExitCode.MONITORING_UNHEALTHY)


@monitor_app.command()
def down(
    compose_file: ComposeFile = None,
    project: ProjectName = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also delete the stored data (Prometheus, InfluxDB, Grafana).")
    ] = False,
) -> None:
    """Stop the stack and remove its containers and network (no Grafana password needed)."""
    _stack(compose_file, project).down(volumes=volumes)
    console_err.print("monitoring stack stopped")


@monitor_app.command()
def status(compose_file: ComposeFile = None, project: ProjectName = None) -> None:
    """Check every service, Prometheus' targets and Grafana's datasources."""
    from novaload.monitoring.stack import not_started

    statuses = _stack(compose_file, project).status()
    advice = not_started(statuses)
    if advice is not None:
        console.print(advice, soft_wrap=True)
        raise typer.Exit(ExitCode.MONITORING_UNHEALTHY)
    healthy = _print_status(statuses)
    raise typer.Exit(ExitCode.OK if healthy else ExitCode.MONITORING_UNHEALTHY)


@image_app.command("build")
def image_build(
    k6: Annotated[
        str | None,
        typer.Option(
            "--k6",
            metavar="PATH",
            help="k6 binary to put in the image.",
            show_default="$K6_BINARY or novaload's",
        ),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(
            "--tag",
            metavar="IMAGE",
            help="Name and tag of the image.",
            show_default=f"{DEFAULT_LOCAL_IMAGE}, or the k8s runner image's",
        ),
    ] = None,
    k8s: Annotated[
        bool,
        typer.Option("--k8s", help="The --runner k8s image (adds a static shell and the results wrapper)."),
    ] = False,
) -> None:
    """Build a FROM-scratch image with the k6 binary novaload uses (no registry needed)."""
    from novaload.runners.image import DEFAULT_LOCAL_IMAGE, build_k6_image
    from novaload.runners.k6binary import find_k6

    binary = find_k6(k6)
    if k8s:
        from novaload.runners.k8s_image import ensure_runner_image

        built = ensure_runner_image(Path(binary.path), tag=tag, rebuild=True)
        console.print(f"built {built} (k6 {binary.version}); push it and pass --image on a real cluster")
        return
    built = build_k6_image(Path(binary.path), tag or DEFAULT_LOCAL_IMAGE)
    console.print(f"built {built} (k6 {binary.version})")


@app.command()
def cleanup(
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            metavar="NAME",
            help="Environment whose target to clean.",
            show_default="$ENVIRONMENT or local",
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", metavar="RUN_ID", help="Only this run's leftovers.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also remove every novaload k6 container left on this Docker engine."),
    ] = False,
) -> None:
    """Remove leftovers: VMs created by novaload runs (by tag), and with --force containers."""
    from novaload.cleanup import cleanup as do_cleanup

    for line in do_cleanup(env=env, run_id=run_id, force=force):
        console.print(line, highlight=False)
