"""Remove what load tests leave behind: VMs created on the target (by run tag),
k6 containers whose novaload is gone (every command reaps those, see
``runners.reaper``) and, with ``force``, every k6 container of the Docker runner and
the Kubernetes objects of ``--runner k8s`` runs."""

from __future__ import annotations

import os
from collections.abc import Iterator

from novaload.config import Overrides, load_project, select
from novaload.errors import NovaloadError


def cleanup(
    env: str | None = None,
    run_id: str | None = None,
    force: bool = False,
) -> Iterator[str]:
    """Yield one human line per action taken."""
    from novaload.scenario.cleanup import cleanup_vms
    from novaload.scenario.render import DEMO_DEFAULT_URL

    project = load_project()
    environment = select(project, None, Overrides(environment=env).merged_with_env(os.environ)).environment
    if environment.uses_demo_target:
        from novaload.target.process import is_target_running

        url = os.environ.get("API_TARGET") or DEMO_DEFAULT_URL
        base = url if is_target_running(url) else None
        if base is None:
            yield f"no demo target running at {url}: nothing to clean there"
    else:
        base = environment.base_url
    if base:
        headers = {k: _resolve(v) for k, v in environment.headers.items()}
        count = cleanup_vms(base, run_id=run_id, headers=headers)
        yield f"deleted {count} VM(s) tagged by novaload runs on {base}"
    if force:
        try:
            from novaload.runners.docker import remove_leftovers

            yield f"removed {remove_leftovers(run_id)} novaload k6 container(s)"
        except NovaloadError as exc:
            yield f"containers: {exc}"
        yield from _cleanup_kubernetes()


def _cleanup_kubernetes() -> Iterator[str]:
    """What ``--runner k8s`` runs left in the current kubeconfig context's namespace
    (only when a kubeconfig exists: most machines never talk to a cluster)."""
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if not any(os.path.isfile(p) for p in kubeconfig.split(os.pathsep)):
        return
    try:
        from novaload.runners.k8s_cluster import remove_leftovers as remove_k8s_leftovers

        yield f"deleted {remove_k8s_leftovers()} novaload object(s) from Kubernetes"
    except NovaloadError as exc:
        yield f"kubernetes: {exc}"


def _resolve(value: str) -> str:
    from novaload.config.models import ENV_REF

    return ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)


__all__ = ["cleanup"]
