"""Access to a cluster for ``--runner k8s``: connecting, the mode, deleting by label.

Owns the connection (kubeconfig, ``--kube-context``, in-cluster service account), the API
server's pod proxy (the one way novaload reaches a runner pod: it works from outside the
cluster wherever pod IPs are not routable, on kind or a cloud cluster as on a local one),
whether k6-operator's ``TestRun`` CRD is installed, and deleting a run's objects (or every
novaload run's, for ``novaload cleanup --force``) by their labels.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novaload.errors import RunnerError
from novaload.runners import k8s_objects as objects
from novaload.runners.base import K8sOptions

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


@dataclass(slots=True)
class Cluster:
    """A connection to one namespace of one cluster."""

    api: ApiClient
    namespace: str
    host: str

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api)

    @property
    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    def proxy(
        self,
        method: str,
        pod: str,
        port: int,
        path: str,
        body: object | None = None,
        timeout: float | tuple[float, float | None] = 2.0,
    ) -> Any:
        """A raw (streaming) response from ``path`` on a pod's port via the API server's
        pod proxy, which works from outside the cluster; raises on any non-2xx answer (an
        ApiException whose ``body`` is the answer's). A ``bytes`` body is sent as it is."""
        from urllib.parse import quote

        resource = (
            f"/api/v1/namespaces/{quote(self.namespace, safe='')}/pods/"
            f"{quote(f'{pod}:{port}', safe=':')}/proxy/{path}"
        )
        method, url, headers, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=resource,
            # bytes go as they are (k6's PUT /v1/setup takes any JSON, `null` too), not as JSON
            header_params={
                "Content-Type": "application/octet-stream" if isinstance(body, bytes) else "application/json",
                "Accept": "*/*",
            },
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.api.call_api(method, url, header_params=headers, body=payload, _request_timeout=timeout)
        raw = resp.response  # urllib3's, not read yet: large results files stream to disk
        if not 200 <= raw.status < 300:
            from kubernetes.client.exceptions import ApiException

            error = ApiException(status=raw.status, reason=raw.reason)
            try:
                error.body = raw.read(64 * 1024)  # k6's error answers say why (setup() failed)
            finally:
                raw.release_conn()
            raise error
        return raw

    def proxy_json(self, pod: str, port: int, path: str) -> Any:
        resp = self.proxy("GET", pod, port, path)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()


def proxy_errors() -> tuple[type[BaseException], ...]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return (ApiException, HTTPError, OSError, ValueError, KeyError, TypeError)


def connect(options: K8sOptions) -> Cluster:
    """Kubeconfig from the usual places (``$KUBECONFIG``, ``~/.kube/config``; ``context``
    picks one), else the in-cluster service account; the API server must answer."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise RunnerError(
            "the kubernetes Python package is not installed", hint="pip install kubernetes"
        ) from None
    namespace = options.namespace
    try:
        try:
            api = config.new_client_from_config(context=options.context)
            if namespace is None:
                contexts, active = config.list_kube_config_contexts()
                chosen = next((c for c in contexts if c["name"] == options.context), active)
                namespace = (chosen or {}).get("context", {}).get("namespace")
        except (ConfigException, FileNotFoundError):
            if options.context:
                raise
            config.load_incluster_config()
            api = client.ApiClient()
            if namespace is None:
                ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                namespace = ns_file.read_text().strip() if ns_file.is_file() else None
    except (ConfigException, FileNotFoundError, OSError) as exc:
        where = os.environ.get("KUBECONFIG", "~/.kube/config")
        raise RunnerError(
            f"no usable Kubernetes configuration ({where}"
            f"{f', context {options.context}' if options.context else ''}): {str(exc).strip()[:200]}",
            hint="set KUBECONFIG or --kube-context",
        ) from None
    cluster = Cluster(api, namespace or "default", api.configuration.host)
    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable", said in one line
        raise RunnerError(
            f"Kubernetes API server unreachable at {cluster.host}: {str(exc).strip().splitlines()[0][:200]}"
        ) from None
    return cluster


def operator_installed(cluster: Cluster) -> bool:
    """Whether the API server serves k6-operator's ``testruns.k6.io`` (the CRD is installed)."""
    from kubernetes.client.exceptions import ApiException

    try:
        resources = cluster.custom.get_api_resources(objects.TESTRUN_GROUP, objects.TESTRUN_VERSION)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise RunnerError(f"cannot ask the API server for k6.io resources: {exc.reason}") from None
    return any(r.name == objects.TESTRUN_PLURAL for r in (resources.resources or []))


def choose_mode(cluster: Cluster, asked: str) -> str:
    installed = operator_installed(cluster)
    if asked == "auto":
        return "operator" if installed else "jobs"
    if asked == "operator" and not installed:
        raise RunnerError(
            f"--k8s-mode operator: the {objects.TESTRUN_CRD} CRD is not installed in the cluster at {cluster.host}",
            hint="install k6-operator, or use --k8s-mode jobs",
        )
    return asked


def api_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message", exc.reason))[:300]
    except (ValueError, TypeError, AttributeError):
        return str(getattr(exc, "reason", exc))[:300]


# ---- deleting, here and in `novaload cleanup --force` -----------------------------------------


def delete_run_objects(cluster: Cluster, name: str | None, *, wait_s: float = 0.0) -> list[str]:
    """Delete the TestRun, Jobs, pods, Secrets and ConfigMaps of run ``name`` (every run's
    when None); with ``wait_s``, wait until they are gone. Returns what is still there."""
    from kubernetes.client.exceptions import ApiException

    ns = cluster.namespace
    selector = objects.run_selector(name)
    core, batch = cluster.core, cluster.batch

    def attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except ApiException as exc:
            if exc.status != 404:
                raise RunnerError(f"cannot delete novaload objects in {ns}: {api_message(exc)}") from None

    testrun_api = (objects.TESTRUN_GROUP, objects.TESTRUN_VERSION, ns, objects.TESTRUN_PLURAL)
    if operator_installed(cluster):
        found = cluster.custom.list_namespaced_custom_object(*testrun_api, label_selector=selector)
        for item in found.get("items", []):
            attempt(
                cluster.custom.delete_namespaced_custom_object,
                *testrun_api,
                item["metadata"]["name"],
                propagation_policy="Background",
            )
    for job in batch.list_namespaced_job(ns, label_selector=selector).items:
        attempt(
            batch.delete_namespaced_job,
            job.metadata.name,
            ns,
            propagation_policy="Background",
            grace_period_seconds=0,
        )
    runner_pods = f"k6_cr={name},runner=true" if name else None
    for sel in filter(None, (selector, runner_pods)):
        for pod in core.list_namespaced_pod(ns, label_selector=sel).items:
            attempt(core.delete_namespaced_pod, pod.metadata.name, ns, grace_period_seconds=0)
    for secret in core.list_namespaced_secret(ns, label_selector=selector).items:
        attempt(core.delete_namespaced_secret, secret.metadata.name, ns)
    for cm in core.list_namespaced_config_map(ns, label_selector=selector).items:
        attempt(core.delete_namespaced_config_map, cm.metadata.name, ns, propagation_policy="Background")
    deadline = time.monotonic() + wait_s
    while True:
        left = remaining_objects(cluster, name)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def remaining_objects(cluster: Cluster, name: str | None) -> list[str]:
    """``kind/name`` of every object of run ``name`` (or of any run) still in the namespace."""
    ns = cluster.namespace
    selector = objects.run_selector(name)
    core, batch = cluster.core, cluster.batch
    found = [f"job/{j.metadata.name}" for j in batch.list_namespaced_job(ns, label_selector=selector).items]
    found += [f"pod/{p.metadata.name}" for p in core.list_namespaced_pod(ns, label_selector=selector).items]
    if name:
        found += [
            f"pod/{p.metadata.name}"
            for p in core.list_namespaced_pod(ns, label_selector=f"k6_cr={name},runner=true").items
            if f"pod/{p.metadata.name}" not in found
        ]
    found += [
        f"secret/{s.metadata.name}" for s in core.list_namespaced_secret(ns, label_selector=selector).items
    ]
    found += [
        f"configmap/{c.metadata.name}"
        for c in core.list_namespaced_config_map(ns, label_selector=selector).items
    ]
    if operator_installed(cluster):
        found += [
            f"testrun/{t['metadata']['name']}"
            for t in cluster.custom.list_namespaced_custom_object(
                objects.TESTRUN_GROUP,
                objects.TESTRUN_VERSION,
                ns,
                objects.TESTRUN_PLURAL,
                label_selector=selector,
            ).get("items", [])
        ]
    return found


def remove_leftovers(options: K8sOptions | None = None) -> int:
    """``novaload cleanup --force``: delete what any novaload run left in the namespace."""
    cluster = connect(options or K8sOptions())
    before = remaining_objects(cluster, None)
    delete_run_objects(cluster, None, wait_s=30.0)
    return len(before)


__all__ = [
    "Cluster",
    "api_message",
    "choose_mode",
    "connect",
    "delete_run_objects",
    "operator_installed",
    "proxy_errors",
    "remaining_objects",
    "remove_leftovers",
]
