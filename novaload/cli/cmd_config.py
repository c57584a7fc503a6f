"""``novaload render``, ``list`` and ``doctor``: look at the configuration and the machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from novaload.cli.app import app, console, console_err, new_table, state
from novaload.errors import ExitCode, UsageError
from novaload.runners.image import DEFAULT_IMAGE


@app.command(no_args_is_help=True)
def render(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario name (see `novaload list`).")],
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            metavar="NAME",
            help="Environment from configs/environments.yaml.",
            show_default="$ENVIRONMENT or local",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Load profile from configs/profiles.yaml.",
            show_default="$PROFILE or the scenario's",
        ),
    ] = None,
    vus: Annotated[
        int | None,
        typer.Option(
            "--vus",
            min=1,
            metavar="N",
            help="Peak VUs; a staged profile is scaled to it.",
            show_default="$CONCURRENT_USERS or the profile's",
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            metavar="DURATION",
            help="Total duration, e.g. 30s or 5m; a staged profile is stretched to it.",
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
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write the script to this file (with --k8s: this folder).",
            show_default="stdout",
        ),
    ] = None,
    show_shape: Annotated[
        bool, typer.Option("--show-shape", help="Draw the planned load over time.")
    ] = False,
    k8s: Annotated[
        bool,
        typer.Option(
            "--k8s",
            help="Also write a ConfigMap and a k6-operator TestRun into the --output folder (GitOps).",
        ),
    ] = False,
    parallelism: Annotated[
        int, typer.Option("--parallelism", min=1, max=64, metavar="N", help="k8s: the TestRun's runners.")
    ] = 1,
    namespace: Annotated[
        str, typer.Option("--namespace", metavar="NAME", help="k8s: the TestRun's namespace.")
    ] = "default",
    image: Annotated[
        str | None,
        typer.Option("--image", metavar="IMAGE", help="k8s: the runner image.", show_default=DEFAULT_IMAGE),
    ] = None,
) -> None:
    """Render a scenario into a complete k6 script without running it."""
    import os

    from novaload.config import Overrides, load_project, select
    from novaload.scenario.render import render as render_script

    project = load_project(state.config_dir, state.scenarios_dir)
    overrides = Overrides(
        environment=env, profile=profile, vus=vus, duration=duration, target_url=target_url
    ).merged_with_env(os.environ)
    selection = select(project, scenario, overrides)
    assert selection.scenario is not None
    rendered = render_script(
        selection.scenario,
        selection.environment,
        selection.profile,
        scenarios_dir=state.scenarios_dir,
    )
    if k8s:
        if output is None:
            raise UsageError("--k8s writes several files: give a folder with --output")
        _write_k8s_manifests(output, rendered.text, selection, parallelism, namespace, image)
    elif output is None:
        sys.stdout.write(rendered.text)
    else:
        rendered.write(output)
        console_err.print(
            f"wrote {output} ({selection.scenario.name} · "
            f"{selection.environment.name} · {selection.profile.name})"
        )
    if show_shape:
        from novaload.scenario.shapes import draw_shape, plan_series

        for name, executor in rendered.options["scenarios"].items():
            console_err.print(Text.assemble((name, "bold"), f" · {executor['executor']}"))
            console_err.print(draw_shape(plan_series(executor, 1.0), width=72, height=14), highlight=False)


@app.command("list")
def list_() -> None:
    """Show scenarios, environments, profiles and suites, one line each."""
    from novaload.config import load_project
    from novaload.config.loader import default_config_dir

    project = load_project(state.config_dir, state.scenarios_dir)
    console.print(Text("scenarios", style="bold"))
    for s in project.scenarios.values():
        console.print(
            Text.assemble(
                f"  {s.name:<12} {s.description} ", (f"(default profile {s.default_profile})", "dim")
            )
        )
    console.print(Text("environments", style="bold"))
    for e in project.environments.values():
        target = "built-in demo target" if e.uses_demo_target else e.base_url
        note = " (requires --yes)" if e.requires_confirmation else ""
        console.print(Text.assemble(f"  {e.name:<12} {target}", (note, "yellow")))
    console.print(Text("profiles", style="bold"))
    for p in project.profiles.values():
        console.print(f"  {p.name:<12} {p.description}")
    suites = sorted((state.config_dir or default_config_dir()).joinpath("suites").glob("*.yaml"))
    if suites:
        from novaload.config.loader import read_yaml

        console.print(Text.assemble(("suites", "bold"), " (novaload suite NAME)"))
        for path in suites:
            data = read_yaml(path)
            about = data.get("description", "") if isinstance(data, dict) else ""
            console.print(f"  {path.stem:<12} {about}")


@app.command()
def doctor() -> None:
    """Check that k6, the configuration and optional components are usable here."""
    from novaload.doctor import run_checks

    checks = run_checks(state.config_dir, state.scenarios_dir)
    table = new_table("check", "status", "detail", narrow={"check": 20})
    style = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    for c in checks:
        # Details quote settings and services' answers: never interpreted as markup.
        table.add_row(Text(c.name), Text(c.status, style=style[c.status]), Text(c.detail))
    console.print(table)
    raise typer.Exit(ExitCode.USAGE if any(c.status == "fail" for c in checks) else 0)


def _write_k8s_manifests(
    folder: Path,
    script: str,
    selection: Any,
    parallelism: int,
    namespace: str,
    image: str | None,
) -> None:
    """``configmap.yaml`` (the script) and ``testrun.yaml`` for ``kubectl apply``. Secret
    values never go into a manifest: the TestRun refers to a Secret the team creates."""
    import yaml

    from novaload.fileio import write_atomic
    from novaload.runners import k8s_objects as objects
    from novaload.runners.image import DEFAULT_IMAGE

    scenario, environment = selection.scenario, selection.environment
    # The same inputs give the same manifests: a TestRun applied again is the same test, so
    # its run id (the testid tag, the script's RUN_ID) is fixed, not the time of rendering.
    run_id = f"{scenario.name}-gitops"
    name = objects.object_name(scenario.name)
    payload = objects.ScriptPayload(f"{scenario.name}.js", script.encode(), False)
    env = {"NOVALOAD_RUN_ID": run_id}
    if not environment.uses_demo_target:
        env["NOVALOAD_BASE_URL"] = environment.base_url
    secrets = sorted(environment.secret_refs | scenario.secret_refs)
    configmap = objects.script_configmap(payload, name, run_id, namespace)
    configmap["metadata"]["labels"] = {objects.RUN_LABEL: name}  # owned by GitOps, not novaload
    testrun = objects.gitops_testrun(
        name=name,
        run_id=run_id,
        namespace=namespace,
        parallelism=parallelism,
        image=image or DEFAULT_IMAGE,
        k6_args=["--tag", f"testid={run_id}"],
        payload=payload,
        env=env,
        secret_names=secrets,
    )
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, body in (("configmap.yaml", configmap), ("testrun.yaml", testrun)):
        write_atomic(folder / file_name, yaml.safe_dump(body, sort_keys=False))
    write_atomic(folder / payload.file_name, script)
    console_err.print(f"wrote {folder}/configmap.yaml, testrun.yaml and {payload.file_name} (TestRun {name})")
    if secrets:
        console_err.print(
            f"create Secret {objects.secret_name(name)} with {', '.join(secrets)} before applying",
            highlight=False,
        )
