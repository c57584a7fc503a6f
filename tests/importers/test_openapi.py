"""`novaload import openapi`: real public descriptions, the demo target's own one run green,
and the rules (values, weights, statuses, secrets, refs) on small hand-made documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from novaload.config.loader import load_project
from novaload.config.resolve import Overrides, select
from novaload.importers import import_openapi, write_scenario
from novaload.importers.openapi import METHOD_WEIGHTS
from novaload.scenario.render import render

REPO = Path(__file__).resolve().parents[2]
# Real public API descriptions (see data/openapi/README.md for where they come from).
REAL_SPECS = {
    "petstore.yaml": 19,  # Swagger Petstore, OpenAPI 3.0, YAML
    "uspto.yaml": 3,  # USPTO Data Set API, OpenAPI 3.0, YAML
    "star-trek.yaml": 100,  # STAPI, OpenAPI 3.0, YAML, 80 paths
    "readme-3.1.json": 50,  # ReadMe API, OpenAPI 3.1, JSON
}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        cwd=REPO,
    )


def write_spec(tmp_path: Path, doc: dict[str, Any], name: str = "spec.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def endpoints_of(imported: Any) -> dict[str, dict[str, Any]]:
    return {e.data["name"]: e.data for e in imported.endpoints}


def k6_inspect(k6_bin: str, config_dir: Path, name: str, tmp_path: Path) -> dict[str, Any]:
    project = load_project(config_dir, REPO / "k6-scenarios")
    selection = select(project, name, Overrides(environment="staging"))
    assert selection.scenario is not None
    script = render(selection.scenario, selection.environment, selection.profile).write(
        tmp_path / f"{name}.js"
    )
    proc = subprocess.run([k6_bin, "inspect", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------- real specs


@pytest.mark.k6
@pytest.mark.parametrize("spec", sorted(REAL_SPECS))
def test_real_public_spec_imports_validates_renders_and_passes_k6_inspect(
    spec: str, data_dir: Path, config_dir: Path, k6_bin: str, tmp_path: Path
) -> None:
    imported = import_openapi(data_dir / "openapi" / spec, name="imported")
    assert len(imported.endpoints) >= REAL_SPECS[spec]
    path = write_scenario(imported, config_dir / "scenarios" / "imported.yaml")
    scenario = load_project(config_dir, REPO / "k6-scenarios").scenarios["imported"]
    assert len(scenario.endpoints) == len(imported.endpoints)
    assert yaml.safe_load(path.read_text()) == imported.data()
    options = k6_inspect(k6_bin, config_dir, "imported", tmp_path)
    assert options["thresholds"]["http_req_failed"] == ["rate<0.01"]


def test_petstore_values_weights_statuses_and_secrets(data_dir: Path) -> None:
    imported = import_openapi(data_dir / "openapi" / "petstore.yaml")
    eps = endpoints_of(imported)
    # operationId is the name tag; the server's path is the base path
    assert eps["getPetById"]["path"] == "/v2/pet/1"
    assert eps["findPetsByStatus"]["path"] == "/v2/pet/findByStatus?status=available"  # enum/default
    # reads over writes
    assert eps["getPetById"]["weight"] == METHOD_WEIGHTS["GET"] == 4
    assert eps["addPet"]["weight"] == 1 and eps["deletePet"]["weight"] == 0.5
    # secrets are references, and what they are is said in the header
    assert eps["getPetById"]["headers"] == {"api_key": "${API_KEY}"}
    assert eps["addPet"]["headers"] == {"Authorization": "Bearer ${PETSTORE_AUTH_TOKEN}"}
    text = imported.to_yaml()
    assert "API_KEY (API key (api_key))" in text
    assert "implicit flow is not performed" in text
    # body from the schema: required/example values, formats, enum, nested refs
    body = eps["placeOrder"]["body"]
    assert body["shipDate"] == "2026-01-01T00:00:00Z" and body["status"] == "placed"
    assert eps["addPet"]["body"]["name"] == "doggie"
    assert eps["addPet"]["body"]["category"] == {"id": 1, "name": "example"}


# --------------------------------------------------------------------------- the demo target


def test_demo_target_spec_describes_every_route() -> None:
    from novaload.target.app import create_app
    from novaload.target.openapi import openapi_document

    app = create_app()
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in app.router.routes()
        # WebSocket streams are not HTTP operations; /app/ is the browser page, not the API.
        if r.method != "HEAD"
        and r.resource is not None
        and not r.resource.canonical.startswith(("/ws/", "/app/"))
    }
    described = {
        (method, path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routes == described


@pytest.mark.k6
def test_demo_target_spec_imports_from_its_url_and_runs_green(
    config_dir: Path, tmp_path: Path, k6_bin: str
) -> None:
    from novaload.run.pipeline import run_test
    from novaload.run.prepare import RunRequest
    from novaload.target.process import TargetProcess

    with TargetProcess.start() as target:
        imported = import_openapi(f"{target.url}/openapi.json", name="demo-openapi")
        eps = endpoints_of(imported)
        assert {"list_items", "get_item", "create_vm", "search", "db_batch"} <= set(eps)
        # operations the mix cannot drive are listed, not generated
        assert "get_vm" not in eps and "reset" not in eps
        assert any(
            s.startswith("POST /api/v1/admin/reset (reset): x-novaload-skip") for s in imported.skipped
        )
        assert eps["delete_vms_by_tag"]["path"] == "/api/v1/vms?tag=suite%3Anovaload-import"
        write_scenario(imported, config_dir / "scenarios" / "demo-openapi.yaml")
        outcome = run_test(
            RunRequest(
                target="demo-openapi",
                environment="staging",
                target_url=target.url,
                profile="smoke",
                duration="6s",
                vus=2,
                k6=k6_bin,
                config_dir=config_dir,
                scenarios_dir=REPO / "k6-scenarios",
                out_dir=tmp_path / "run",
                record_history=False,
            )
        )
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    metrics = summary["metrics"]
    assert outcome.exit_code == 0, outcome.warnings
    assert metrics["http_reqs"]["count"] > 10
    assert metrics["http_req_failed"]["value"] == 0  # no failed request at all
    assert metrics["checks"]["value"] == 1


# --------------------------------------------------------------------------- rules on small documents


def _doc(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "Tiny API", "version": "1"}, "paths": paths, **extra}


def test_recursive_schemas_allof_and_31_types(tmp_path: Path) -> None:
    doc = _doc(
        {
            "/nodes": {
                "post": {
                    "operationId": "add node",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                    },
                    "responses": {"201": {"description": "ok"}, "400": {"description": "bad"}},
                }
            }
        },
        components={
            "schemas": {
                "Node": {
                    "type": "object",
                    "required": ["label"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "label": {"type": ["string", "null"], "minLength": 10},
                        "score": {"type": "number", "exclusiveMinimum": 5, "maximum": 100},
                        "count": {"type": "integer", "minimum": 3, "multipleOf": 2},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                        "meta": {
                            "allOf": [
                                {"$ref": "#/components/schemas/Meta"},
                                {"properties": {"x": {"const": 1}}},
                            ]
                        },
                    },
                },
                "Meta": {"type": "object", "properties": {"when": {"type": "string", "format": "date"}}},
            }
        },
    )
    imported = import_openapi(write_spec(tmp_path, doc))
    ep = endpoints_of(imported)["add_node"]  # whitespace in operationId → _
    body = ep["body"]
    assert "id" not in body  # readOnly
    assert body["label"] == "examplexxx"  # minLength 10
    assert body["score"] == 5.5 and body["count"] == 4
    assert body["children"] == []  # the recursion is cut, not followed forever
    assert body["meta"] == {"when": "2026-01-01", "x": 1}
    assert ep["expect_status"] == [201] and ep["weight"] == 1


def test_unsupported_things_are_listed_in_the_file(tmp_path: Path, config_dir: Path) -> None:
    doc = _doc(
        {
            "/upload": {
                "post": {
                    "operationId": "upload",
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": {"type": "object"}}},
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/ext": {
                "get": {"operationId": "ext", "parameters": [{"$ref": "other.yaml#/p"}], "responses": {}}
            },
            "/ok": {
                "get": {
                    "operationId": "ok",
                    "x-novaload-weight": 7,
                    "responses": {"204": {"description": "ok"}},
                }
            },
        }
    )
    imported = import_openapi(write_spec(tmp_path, doc))
    assert list(endpoints_of(imported)) == ["ok"]
    assert endpoints_of(imported)["ok"]["weight"] == 7 and endpoints_of(imported)["ok"]["expect_status"] == [
        204
    ]
    text = write_scenario(imported, config_dir / "scenarios" / "tiny.yaml").read_text()
    assert "#   - POST /upload (upload): request body multipart/form-data only" in text
    assert "#   - GET /ext (ext): external $ref other.yaml#/p" in text


def test_query_styles(tmp_path: Path) -> None:
    params = [
        {
            "name": "ids",
            "in": "query",
            "required": True,
            "schema": {"type": "array", "items": {"type": "integer"}},
        },
        {"name": "tags", "in": "query", "explode": False, "example": ["a", "b c"]},
        {"name": "filter", "in": "query", "style": "deepObject", "example": {"kind": "vm", "state": "on"}},
        {"name": "optional", "in": "query", "schema": {"type": "string"}},
    ]
    doc = _doc(
        {
            "/q": {
                "get": {"operationId": "q", "parameters": params, "responses": {"200": {"description": "ok"}}}
            }
        }
    )
    path = endpoints_of(import_openapi(write_spec(tmp_path, doc)))["q"]["path"]
    assert path == "/q?ids=1&tags=a,b%20c&filter%5Bkind%5D=vm&filter%5Bstate%5D=on"


def test_servers_variables_base_path_tags_and_duplicate_names(tmp_path: Path) -> None:
    doc = _doc(
        {
            "/a/{id}": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "a b",
                    }
                ],
                "get": {"operationId": "same", "tags": ["read"], "responses": {"200": {"description": "ok"}}},
                "delete": {
                    "operationId": "same",
                    "tags": ["write"],
                    "responses": {"200": {"description": "ok"}},
                },
            }
        },
        servers=[
            {
                "url": "https://{host}/api/{v}",
                "variables": {"host": {"default": "x.test"}, "v": {"default": "v2"}},
            }
        ],
    )
    spec = write_spec(tmp_path, doc)
    imported = import_openapi(spec)
    eps = endpoints_of(imported)
    assert eps["same"]["path"] == "/api/v2/a/a%20b" and eps["same_2"]["method"] == "DELETE"
    assert "server: https://x.test/api/v2" in imported.to_yaml()
    assert endpoints_of(import_openapi(spec, base_path="/"))["same"]["path"] == "/a/a%20b"
    only_reads = import_openapi(spec, tags=["read"])
    assert [e.data["method"] for e in only_reads.endpoints] == ["GET"]
    assert "--tag read: 1 operation(s) without it left out" in only_reads.skipped


@pytest.mark.k6
def test_api_key_in_the_query_is_resolved_from_the_environment_at_run_time(
    tmp_path: Path, config_dir: Path, k6_bin: str, demo_target: str
) -> None:
    """The demo search answers 400 without q: the key must arrive, URL-encoded, from k6's env."""
    doc = _doc(
        {
            "/api/v1/search": {
                "get": {
                    "operationId": "search",
                    "security": [{"key": []}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        components={"securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "q"}}},
    )
    imported = import_openapi(write_spec(tmp_path, doc), name="keyed")
    assert endpoints_of(imported)["search"]["path"] == "/api/v1/search?q=${KEY}"
    write_scenario(imported, config_dir / "scenarios" / "keyed.yaml")
    common = [
        "--config-dir",
        str(config_dir),
        "run",
        "keyed",
        "--env",
        "staging",
        "--target",
        demo_target,
        "--profile",
        "dev",
        "--duration",
        "2s",
    ]
    ok = cli(*common, "--out-dir", str(tmp_path / "ok"), env={"KEY": "nova vm"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "nova vm" not in (tmp_path / "ok" / "keyed.js").read_text()
    missing = cli(*common, "--out-dir", str(tmp_path / "missing"), env={"KEY": ""})
    assert "environment variable KEY (referenced by scenario 'keyed' endpoints) is not set" in missing.stderr
    assert missing.returncode == 99  # every search got 400


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("swagger: '2.0'\npaths: {}\n", "swagger 2.0 (OpenAPI 2) is not supported"),
        ("openapi: 4.0.0\npaths: {}\n", "openapi: only 3.0 and 3.1 are supported (got 4.0.0)"),
        ("openapi: 3.0.0\npaths: [1]\n", "paths: must be a mapping"),
        ("openapi: 3.0.0\npaths:\n  /a: {get: {responses: {}}\n", "invalid YAML at line"),
        ('{"openapi": "3.0.0", "paths": {', "invalid JSON at line 1"),
        ("- 1\n", "not an OpenAPI document (top level is a list)"),
        ("openapi: 3.0.0\npaths: {}\n", "no operation could be generated"),
    ],
    ids=["swagger2", "version", "paths", "yaml", "json", "list", "empty"],
)
def test_bad_spec_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    spec = tmp_path / "spec.txt"
    spec.write_text(content)
    proc = cli("import", "openapi", str(spec), "--output", str(tmp_path / "out.yaml"))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.yaml").exists()


def test_missing_file_url_and_existing_output(tmp_path: Path, data_dir: Path) -> None:
    proc = cli("import", "openapi", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "nope.yaml: no such file" in proc.stderr
    proc = cli("import", "openapi", "http://127.0.0.1:9/openapi.json")
    assert proc.returncode == 2 and "cannot fetch the description" in proc.stderr
    out = tmp_path / "mine.yaml"
    out.write_text("# hand-written\n")
    proc = cli("import", "openapi", str(data_dir / "openapi" / "uspto.yaml"), "--output", str(out))
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert out.read_text() == "# hand-written\n"  # nothing already written is lost
    proc = cli("import", "openapi", str(data_dir / "openapi" / "uspto.yaml"), "--output", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "uspto" in out.read_text().lower()
    proc = cli("import", "openapi", str(data_dir / "openapi" / "uspto.yaml"), "--name", "../x")
    assert proc.returncode == 2 and "--name '../x'" in proc.stderr
