"""The scratch k6 image: what `novaload image build` produces, and that k6 works in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from novaload.errors import K6NotFoundError
from novaload.runners.image import (
    DEFAULT_IMAGE,
    DEFAULT_LOCAL_IMAGE,
    K6_VERSION_LABEL,
    docker_client,
    image_k6_version,
    k6_binary_version,
)


def test_default_images_are_pinned() -> None:
    assert DEFAULT_IMAGE.startswith("grafana/k6:") and not DEFAULT_IMAGE.endswith(":latest")
    assert DEFAULT_LOCAL_IMAGE.startswith("novaload/k6:")


def test_binary_version_rejects_a_non_k6_program(tmp_path: Path) -> None:
    fake = tmp_path / "k6"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(K6NotFoundError, match="not a k6 binary"):
        k6_binary_version(fake)


def test_binary_version_missing_file(tmp_path: Path) -> None:
    with pytest.raises(K6NotFoundError, match="not found"):
        k6_binary_version(tmp_path / "nope")


@pytest.mark.docker
def test_image_is_labelled_with_the_binary_version(k6_image: str, k6_bin: str) -> None:
    client = docker_client()
    image = client.images.get(k6_image)
    client_version = image_k6_version(client, k6_image)
    client.close()
    assert client_version == k6_binary_version(Path(k6_bin))
    assert image.labels[K6_VERSION_LABEL] == client_version
    assert image.attrs["Config"]["Entrypoint"] == ["/usr/bin/k6"]


@pytest.mark.docker
def test_k6_runs_as_an_unprivileged_user_and_writes_the_mounted_folder(k6_image: str, tmp_path: Path) -> None:
    # A scratch image has no user database and no /tmp of its own: prove k6 needs neither.
    tmp_path.chmod(0o755)  # pytest makes it 0700: the container user must get in
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    (tmp_path / "t.js").write_text(
        "export const options = { iterations: 2 };\nexport default function () {}\n"
    )
    client = docker_client()
    try:
        client.containers.run(
            k6_image,
            ["run", "--quiet", "/data/t.js", "--out", "json=/data/out/r.json"],
            user="65534:65534",
            network_mode="none",
            remove=True,
            working_dir="/data/out",
            volumes={str(tmp_path): {"bind": "/data", "mode": "rw"}},
        )
    finally:
        client.close()
    lines = [json.loads(line) for line in (out / "r.json").read_text().splitlines()]
    assert sum(1 for p in lines if p["type"] == "Point" and p["metric"] == "iterations") == 2
    assert (out / "r.json").stat().st_uid == 65534
