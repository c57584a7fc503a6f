"""OpenAPI 3.0 / 3.1 (JSON or YAML, a file or an http(s) URL) → a weighted ``api`` scenario.

One endpoint per operation:

* ``name``: the operationId (else ``<method>_<path>``), which k6 tags as ``name``;
* ``path``: the base path (``--base-path``, else the first server's path) plus the
  path with its parameters filled in; required query parameters, and optional ones
  that carry an example or default, are appended;
* values, in this order: the parameter's ``example``, its first ``examples`` entry,
  then the schema's ``example``/``examples``/``default``/``const``/first ``enum``,
  and last a value generated from the schema (type, format, bounds);
* ``body``: the first JSON media type's example, else one generated from its schema
  (``readOnly`` properties left out);
* ``expect_status``: the documented 2xx statuses (3xx ones too, with 200 for the
  redirect k6 follows); 200 when none is documented;
* ``weight``: reads over writes — GET 4, HEAD/OPTIONS 1, POST/PUT/PATCH 1,
  DELETE 0.5 — unless the operation says ``x-novaload-weight: N``;
* security: API keys, bearer/basic and OAuth2/OpenID tokens become ``${VAR}``
  references in headers (or the query/cookie), never values.

Local ``$ref``s (``#/...``) are resolved, recursion is cut. What cannot be generated
(external refs, non-JSON bodies that are required, auth flows, ``x-novaload-skip``)
is listed in the output's comments, not silently dropped.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from novaload.errors import InputError
from novaload.importers.common import (
    ImportedEndpoint,
    ImportedScenario,
    comment,
    decode_source,
    endpoint_name,
    env_name,
    read_source,
    slug,
    unique_names,
)
from novaload.inputs import OPENAPI, load_json, load_yaml
from novaload.redact import is_secret_name

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
# Reads over writes; deletes at half the rate of creates so a mix doesn't drain what it reads.
METHOD_WEIGHTS: dict[str, float] = {
    "GET": 4,
    "HEAD": 1,
    "OPTIONS": 1,
    "POST": 1,
    "PUT": 1,
    "PATCH": 1,
    "DELETE": 0.5,
}
_MAX_DEPTH = 6  # nesting generated into a body before only required properties are filled
_MAX_SPEC_BYTES = OPENAPI.max_bytes
# Values generated for one example (a body, a parameter): a web of $refs whose required
# properties refer to each other (9 schemas x 9 properties = 9^9 values) is refused here
# instead of being expanded.
MAX_EXAMPLE_VALUES = 10_000
_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]*\+)?json(?:;.*)?$|^\*/\*$", re.IGNORECASE)
_STRING_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00",
    "email": "user@example.com",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "ZXhhbXBsZQ==",
    "password": "example-password",
}


class _Unsupported(Exception):
    """Something in one operation cannot be generated; the operation is listed, not emitted."""


class _TooLarge(Exception):
    """An example would pass the bound on generated values: the document is refused."""


@dataclass(frozen=True, slots=True)
class OpenAPISource:
    """A parsed description and where it came from (for messages and the header)."""

    document: dict[str, Any]
    origin: str  # the path or URL as given
    version: str  # "3.0.3", "3.1.0", …


def load_openapi(source: str | Path, *, timeout_s: float = 15.0) -> OpenAPISource:
    """Read a description from a file or an http(s) URL; one-line InputError when unusable."""
    origin = str(source)
    if origin.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(origin, timeout=timeout_s) as response:
                raw = response.read(_MAX_SPEC_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise InputError(f"{origin}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(f"{origin}: cannot fetch the description ({reason})") from None
    else:
        raw = read_source(Path(origin), origin)
    if len(raw) > _MAX_SPEC_BYTES:
        raise InputError(f"{origin}: larger than {_MAX_SPEC_BYTES // (1024 * 1024)} MiB")
    document = _parse(raw, origin)
    return OpenAPISource(document=document, origin=origin, version=_check_version(document, origin))


def _parse(raw: bytes, origin: str) -> dict[str, Any]:
    text = decode_source(raw, origin)
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{origin}: empty file")
    if stripped.startswith("{"):
        data = load_json(text, origin, OPENAPI)
    else:
        data = load_yaml(text, origin, OPENAPI)
    if not isinstance(data, dict):
        raise InputError(f"{origin}: not an OpenAPI document (top level is a {type(data).__name__})")
    return data


def _check_version(document: dict[str, Any], origin: str) -> str:
    if "swagger" in document:
        raise InputError(
            f"{origin}: swagger {document.get('swagger')} (OpenAPI 2) is not supported",
            hint="convert it to OpenAPI 3 first, e.g. with swagger2openapi",
        )
    version = str(document.get("openapi", ""))
    if not re.match(r"^3\.[01](\.\d+)?$", version):
        shown = version or "missing"
        raise InputError(f"{origin}: openapi: only 3.0 and 3.1 are supported (got {shown})")
    paths = document.get("paths")
    if paths is None and "webhooks" in document:
        paths = {}
    if not isinstance(paths, dict):
        raise InputError(f"{origin}: paths: must be a mapping of path → operations")
    for key in paths:
        if not str(key).startswith("/"):
            raise InputError(f"{origin}: paths.{key}: a path must start with '/'")
    return version


# --------------------------------------------------------------------------- references


@dataclass
class _Resolver:
    document: dict[str, Any]
    origin: str

    def ref(self, pointer: str) -> Any:
        if not pointer.startswith("#"):
            raise _Unsupported(f"external $ref {pointer} (only local #/... references are resolved)")
        node: Any = self.document
        for raw in pointer[1:].split("/")[1:] if pointer != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            part = unquote(part)
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _Unsupported(f"$ref {pointer} points nowhere")
        return node

    def deref(self, node: Any, seen: frozenset[str] = frozenset()) -> tuple[Any, frozenset[str]]:
        """Follow ``$ref`` chains; siblings of a 3.1 ``$ref`` override the target's keys."""
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"]
            if pointer in seen or hops > 50:
                return None, seen
            seen = seen | {pointer}
            target = self.ref(pointer)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
            hops += 1
        return node, seen


# --------------------------------------------------------------------------- values


@dataclass
class _Sampler:
    resolver: _Resolver
    for_request: bool = True
    generated: int = 0  # values made so far for this example (MAX_EXAMPLE_VALUES)

    def value(self, schema: Any, seen: frozenset[str] = frozenset(), depth: int = 0) -> Any:
        self.generated += 1
        if self.generated > MAX_EXAMPLE_VALUES:
            raise _TooLarge(f"$ref expansion of an example passes {MAX_EXAMPLE_VALUES:,} values")
        schema, seen = self.resolver.deref(schema, seen)
        if not isinstance(schema, dict):
            return None
        for key in ("example", "default", "const"):
            if key in schema:
                return schema[key]
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return next((e for e in enum if e is not None), enum[0])
        if isinstance(schema.get("allOf"), list):
            return self._all_of(schema, seen, depth)
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                for option in options:
                    resolved, _ = self.resolver.deref(option, seen)
                    if isinstance(resolved, dict) and resolved.get("type") == "null":
                        continue
                    return self.value(option, seen, depth)
                return None
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, seen, depth)
        if kind == "array":
            if depth >= _MAX_DEPTH:
                return []
            item = self.value(schema.get("items", {}), seen, depth + 1)
            count = min(max(int(schema.get("minItems") or 1), 1), 3)
            return [] if item is None else [item] * count
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return True
        return None

    def _all_of(self, schema: dict[str, Any], seen: frozenset[str], depth: int) -> Any:
        merged: dict[str, Any] = {}
        last: Any = None
        for part in schema["allOf"]:
            value = self.value(part, seen, depth)
            if isinstance(value, dict):
                merged.update(value)
            elif value is not None:
                last = value
        own = {k: v for k, v in schema.items() if k != "allOf"}
        if own.get("properties"):
            value = self._object(own, seen, depth)
            if isinstance(value, dict):
                merged.update(value)
        return merged if merged or last is None else last

    def _object(self, schema: dict[str, Any], seen: frozenset[str], depth: int) -> dict[str, Any]:
        raw_props = schema.get("properties")
        props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for name, prop in props.items():
            resolved, _ = self.resolver.deref(prop, seen)
            if isinstance(resolved, dict) and resolved.get("readOnly" if self.for_request else "writeOnly"):
                continue
            if depth >= _MAX_DEPTH and name not in required:
                continue
            value = self.value(prop, seen, depth + 1)
            if value is not None or name in required:
                out[str(name)] = value
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict) and depth < _MAX_DEPTH:
            value = self.value(extra, seen, depth + 1)
            if value is not None:
                out["key"] = value
        return out


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return kind if isinstance(kind, str) else None


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "binary":
        return ""
    text = _STRING_FORMATS.get(str(fmt), "example")
    low = schema.get("minLength")
    high = schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text += "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[: max(high, 0)]
    return text


def _number(schema: dict[str, Any], kind: str) -> int | float:
    value: float = 1
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(exclusive_low, (int, float)) and not isinstance(exclusive_low, bool):  # 3.1
        low = exclusive_low + (1 if kind == "integer" else 0.5)
    elif exclusive_low is True and isinstance(low, (int, float)):  # 3.0
        low = low + (1 if kind == "integer" else 0.5)
    if isinstance(exclusive_high, (int, float)) and not isinstance(exclusive_high, bool):
        high = exclusive_high - (1 if kind == "integer" else 0.5)
    elif exclusive_high is True and isinstance(high, (int, float)):
        high = high - (1 if kind == "integer" else 0.5)
    if isinstance(low, (int, float)):
        value = max(value, low)
    if isinstance(high, (int, float)):
        value = min(value, high)
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = math.ceil(value / step) * step
    if kind == "integer":
        return int(math.ceil(value))
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- operations


@dataclass
class _Security:
    """The ``${VAR}`` references one operation's security requirement becomes."""

    headers: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)


def _env_name(scheme: str, suffix: str = "") -> str:
    base = env_name(scheme)
    return f"{base}_{suffix}" if suffix and not base.endswith(suffix) else base


class _Importer:
    def __init__(self, source: OpenAPISource, base_path: str | None, tags: frozenset[str]) -> None:
        self.source = source
        self.doc = source.document
        self.resolver = _Resolver(self.doc, source.origin)
        self.request_sampler = _Sampler(self.resolver, for_request=True)
        self.tags = tags
        self.skipped: list[str] = []
        self.secrets: dict[str, str] = {}  # env var -> what it is
        self.scheme_notes: set[str] = set()
        self.untagged = 0  # operations --tag left out
        servers = self.doc.get("servers")
        self.server_url = _server_url(servers[0]) if isinstance(servers, list) and servers else ""
        self.base_path = _base_path(base_path if base_path is not None else urlparse(self.server_url).path)

    # -- security
    def security(self, operation: Mapping[str, Any]) -> _Security:
        requirement = operation.get("security", self.doc.get("security"))
        out = _Security()
        if not isinstance(requirement, list) or not requirement:
            return out
        schemes = (self.doc.get("components") or {}).get("securitySchemes") or {}
        # Alternatives are ORed: the first one is used (all of its schemes, ANDed).
        chosen = requirement[0] if isinstance(requirement[0], dict) else {}
        for name in chosen:
            try:
                scheme, _ = self.resolver.deref(schemes.get(name))
            except _Unsupported as exc:
                raise _Unsupported(f"security scheme {name}: {exc}") from None
            if not isinstance(scheme, dict):
                raise _Unsupported(f"security scheme {name} is not defined")
            self._apply_scheme(str(name), scheme, out)
        return out

    def _apply_scheme(self, name: str, scheme: dict[str, Any], out: _Security) -> None:
        kind = scheme.get("type")
        if kind == "apiKey":
            var = _env_name(name)
            where, key = scheme.get("in"), str(scheme.get("name") or name)
            ref = "${" + var + "}"
            if where == "header":
                out.headers[key] = ref
            elif where == "query":
                out.query.append((key, ref))
                self.scheme_notes.add(
                    f"security scheme {name}: API key sent in the query (?{key}=${{{var}}}); k6 records URLs "
                    "in its results, so prefer a header key where the API allows it"
                )
            elif where == "cookie":
                out.cookies.append((key, ref))
            else:
                raise _Unsupported(f"security scheme {name}: apiKey in {where!r}")
            self.secrets[var] = f"API key ({name})"
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            var = _env_name(name, "TOKEN")
            out.headers["Authorization"] = "Bearer ${" + var + "}"
            self.secrets[var] = f"bearer token ({name})"
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            var = _env_name(name, "BASIC")
            out.headers["Authorization"] = "Basic ${" + var + "}"
            self.secrets[var] = f"base64 of user:password ({name})"
        elif kind in ("oauth2", "openIdConnect"):
            var = _env_name(name, "TOKEN")
            out.headers["Authorization"] = "Bearer ${" + var + "}"
            self.secrets[var] = f"access token ({name})"
            flows = ", ".join(sorted((scheme.get("flows") or {}).keys())) or kind
            self.scheme_notes.add(
                f"security scheme {name}: the {flows} flow is not performed; "
                f"obtain a token first and export it as {var}"
            )
        else:
            label = f"{kind} {scheme.get('scheme', '')}".strip()
            raise _Unsupported(f"security scheme {name}: {label} is not supported")

    # -- one operation
    def operation(
        self, path: str, method: str, item: dict[str, Any], operation: dict[str, Any]
    ) -> ImportedEndpoint:
        skip = operation.get("x-novaload-skip")
        if skip:
            raise _Unsupported(f"x-novaload-skip: {skip}" if isinstance(skip, str) else "x-novaload-skip")
        params = self._parameters(item, operation)
        rendered_path = path
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        cookies: list[tuple[str, str]] = []
        for param in params:
            where, name = param.get("in"), str(param.get("name", ""))
            value, has_value = self._param_value(param)
            if where in ("query", "header", "cookie") and has_value and is_secret_name(name):
                # An example password or token is not sent as written: like a recorded
                # one (HAR), it becomes a variable to export.
                var = _env_name(name)
                self.secrets[var] = f"{where} parameter {name}"
                value = "${" + var + "}"
            if where == "path":
                if not has_value:
                    value = "1"
                rendered_path = rendered_path.replace("{" + name + "}", _path_value(value))
            elif where == "query":
                if param.get("required") or has_value:
                    query += _query_pairs(name, value, param)
            elif where == "header":
                if name.lower() in ("accept", "content-type", "authorization"):
                    continue  # owned by the template / security (the spec says these are ignored)
                if param.get("required") or has_value:
                    headers[name] = _scalar(value)
            elif where == "cookie" and (param.get("required") or has_value):
                cookies.append((name, _scalar(value)))
        leftover = re.findall(r"\{([^}]+)\}", rendered_path)
        for name in leftover:  # a template variable no parameter declares
            rendered_path = rendered_path.replace("{" + name + "}", "1")
        security = self.security(operation)
        headers.update(security.headers)
        query += security.query
        cookies += security.cookies
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies)
        full = self._server_path(item, operation) + rendered_path
        if query:
            full += "?" + "&".join(f"{quote(k, safe='')}={_query_value(v)}" for k, v in query)
        endpoint: dict[str, Any] = {"name": "", "method": method.upper(), "path": full}
        endpoint["weight"] = self._weight(operation, method)
        body, body_note = self._body(operation)
        if body is not _NO_BODY:
            endpoint["body"] = body
        if headers:
            endpoint["headers"] = headers
        endpoint["expect_status"] = list(_expected(operation.get("responses")))
        summary = operation.get("summary") or operation.get("description") or ""
        note = f"{method.upper()} {path}" + (f" · {comment(summary, max_len=100)}" if summary else "")
        if operation.get("deprecated"):
            note += " · deprecated"
        if leftover:
            note += f" · undeclared path parameter(s) {', '.join(leftover)} set to 1"
        if body_note:
            note += f" · {body_note}"
        return ImportedEndpoint(endpoint, note)

    def _server_path(self, item: dict[str, Any], operation: dict[str, Any]) -> str:
        for holder in (operation, item):
            servers = holder.get("servers")
            if isinstance(servers, list) and servers and isinstance(servers[0], dict):
                return _base_path(urlparse(_server_url(servers[0])).path)
        return self.base_path

    def _parameters(self, item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
            param, _ = self.resolver.deref(raw)
            if not isinstance(param, dict) or "name" not in param or "in" not in param:
                raise _Unsupported("a parameter without name/in")
            merged[(str(param["name"]), str(param["in"]))] = param
        return list(merged.values())

    def _param_value(self, param: dict[str, Any]) -> tuple[Any, bool]:
        if "example" in param:
            return param["example"], True
        examples = param.get("examples")
        if isinstance(examples, dict):
            for example in examples.values():
                resolved, _ = self.resolver.deref(example)
                if isinstance(resolved, dict) and "value" in resolved:
                    return resolved["value"], True
        schema = param.get("schema")
        if schema is None and isinstance(param.get("content"), dict) and param["content"]:
            media = next(iter(param["content"].values()))
            schema = media.get("schema") if isinstance(media, dict) else None
        resolved, _ = self.resolver.deref(schema)
        if isinstance(resolved, dict) and any(
            k in resolved for k in ("example", "examples", "default", "const")
        ):
            return self.request_sampler.value(resolved), True
        if param.get("required") or param.get("in") == "path":
            return self.request_sampler.value(schema), True
        return None, False

    def _weight(self, operation: dict[str, Any], method: str) -> float:
        custom = operation.get("x-novaload-weight")
        if isinstance(custom, (int, float)) and not isinstance(custom, bool) and custom > 0:
            return custom
        return METHOD_WEIGHTS[method.upper()]

    def _body(self, operation: dict[str, Any]) -> tuple[Any, str]:
        body, _ = self.resolver.deref(operation.get("requestBody"))
        if not isinstance(body, dict):
            return _NO_BODY, ""
        raw_content = body.get("content")
        content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
        json_type = next((t for t in content if _JSON_TYPE.match(str(t))), None)
        if json_type is None:
            types = ", ".join(str(t) for t in content) or "no content type"
            if body.get("required"):
                raise _Unsupported(f"request body {types} only (JSON bodies are generated)")
            return _NO_BODY, f"optional request body ({types}) not sent"
        media, _ = self.resolver.deref(content[json_type])
        media = media if isinstance(media, dict) else {}
        if "example" in media:
            return media["example"], ""
        examples = media.get("examples")
        if isinstance(examples, dict):
            for example in examples.values():
                resolved, _ = self.resolver.deref(example)
                if isinstance(resolved, dict) and "value" in resolved:
                    return resolved["value"], ""
        return self.request_sampler.value(media.get("schema", {})), "body generated from the schema"

    def run(self) -> tuple[list[ImportedEndpoint], list[str]]:
        endpoints: list[ImportedEndpoint] = []
        names: list[str] = []
        for path, raw_item in (self.doc.get("paths") or {}).items():
            try:
                item, _ = self.resolver.deref(raw_item)
            except _Unsupported as exc:
                self.skipped.append(f"{path}: {exc}")
                continue
            if not isinstance(item, dict):
                continue
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                label = f"{method.upper()} {path}"
                op_id = operation.get("operationId")
                if op_id:
                    label += f" ({op_id})"
                if self.tags and not self.tags.intersection(str(t) for t in operation.get("tags") or ()):
                    self.untagged += 1
                    continue
                self.request_sampler.generated = 0
                try:
                    endpoint = self.operation(str(path), method, item, operation)
                except _TooLarge as exc:
                    raise InputError(f"{self.source.origin}: {comment(label, max_len=120)}: {exc}") from None
                except _Unsupported as exc:
                    self.skipped.append(f"{label}: {exc}")
                    continue
                names.append(_endpoint_name(op_id, method, str(path)))
                endpoints.append(endpoint)
            if "trace" in item:
                self.skipped.append(
                    f"TRACE {path}: k6 scenarios here send GET/HEAD/POST/PUT/PATCH/DELETE/OPTIONS"
                )
        for endpoint, name in zip(endpoints, unique_names(names)):
            endpoint.data["name"] = name
        if isinstance(self.doc.get("webhooks"), dict) and self.doc["webhooks"]:
            self.skipped.append(
                f"webhooks ({', '.join(map(str, self.doc['webhooks']))}): the API calls them, they are not load"
            )
        return endpoints, [*sorted(self.scheme_notes), *self.skipped]


_NO_BODY = object()


def _endpoint_name(operation_id: Any, method: str, path: str) -> str:
    if isinstance(operation_id, str) and operation_id.strip():
        return re.sub(r"\s+", "_", operation_id.strip())[:100]
    return endpoint_name(method, path.replace("{", "").replace("}", ""))


def _server_url(server: Any) -> str:
    if not isinstance(server, dict):
        return ""
    url = str(server.get("url") or "")
    for name, variable in (server.get("variables") or {}).items():
        default = variable.get("default", "") if isinstance(variable, dict) else ""
        url = url.replace("{" + str(name) + "}", str(default))
    return url


def _base_path(path: str) -> str:
    path = path.strip()
    if not path or path == "/":
        return ""
    return "/" + path.strip("/")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _path_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(quote(_scalar(v), safe="") for v in value)
    if isinstance(value, dict):
        return ",".join(f"{quote(str(k), safe='')},{quote(_scalar(v), safe='')}" for k, v in value.items())
    return quote(_scalar(value), safe="")


def _query_pairs(name: str, value: Any, param: dict[str, Any]) -> list[tuple[str, str]]:
    explode = param.get("explode", param.get("style", "form") == "form")
    if isinstance(value, list):
        if explode:
            return [(name, _scalar(v)) for v in value]
        return [(name, ",".join(_scalar(v) for v in value))]
    if isinstance(value, dict) and param.get("style") == "deepObject":
        return [(f"{name}[{k}]", _scalar(v)) for k, v in value.items()]
    if isinstance(value, dict) and param.get("style", "form") == "form":
        if explode:
            return [(str(k), _scalar(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_scalar(v)}" for k, v in value.items()))]
    return [(name, _scalar(value))]


def _query_value(value: str) -> str:
    # ${VAR} references stay readable: the script resolves them before sending.
    parts = re.split(r"(\$\{[A-Za-z_][A-Za-z0-9_]*\})", value)
    return "".join(p if p.startswith("${") else quote(p, safe=",") for p in parts)


def _expected(responses: Any) -> tuple[int, ...]:
    codes: list[int] = []
    redirect = False
    for key in responses or {} if isinstance(responses, dict) else {}:
        text = str(key).upper()
        if text == "2XX":
            codes += [200, 201, 202, 204]
        elif text.isdigit() and 200 <= int(text) < 300:
            codes.append(int(text))
        elif text.isdigit() and 300 <= int(text) < 400 or text == "3XX":
            redirect = True  # k6 follows redirects: the status it sees is the final one
    if redirect:
        codes.append(200)
    return tuple(sorted(set(codes))) or (200,)


def import_openapi(
    source: str | Path,
    *,
    name: str | None = None,
    base_path: str | None = None,
    tags: Iterable[str] = (),
) -> ImportedScenario:
    """Turn an OpenAPI description into an :class:`ImportedScenario` (not yet written)."""
    spec = load_openapi(source)
    importer = _Importer(spec, base_path, frozenset(tags))
    endpoints, skipped = importer.run()
    raw_info = spec.document.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    title = str(info.get("title") or Path(spec.origin).stem)
    version = str(info.get("version") or "")
    if tags:
        skipped.append(
            f"--tag {', '.join(sorted(tags))}: {importer.untagged} operation(s) without it left out"
        )
    if not endpoints:
        raise InputError(
            f"{spec.origin}: no operation could be generated"
            + (f" ({len(skipped)} skipped: {skipped[0]})" if skipped else "")
            + (f" for tags {', '.join(sorted(tags))}" if tags else "")
        )
    scenario_name = name or slug(title)
    header = [
        f"Imported by `novaload import openapi` from {spec.origin}",
        f"{title} {version} (OpenAPI {spec.version}); re-import to refresh, edits here are yours.",
        "weights: reads over writes (GET 4, HEAD/OPTIONS 1, POST/PUT/PATCH 1, DELETE 0.5; x-novaload-weight overrides)",
        "values: example > examples > schema example/default/const/enum > generated from the schema",
        "expect_status: the documented 2xx responses (200 if none); thresholds: novaload's default SLO",
    ]
    if importer.server_url:
        header.append(
            f"server: {importer.server_url} (point an environment's base_url or --target at its host;"
            f" base path {importer.base_path or '/'})"
        )
    if importer.secrets:
        header.append(
            "secrets come from the environment: "
            + ", ".join(f"{var} ({what})" for var, what in sorted(importer.secrets.items()))
        )
    description = comment(f"{title} {version}".strip() + " — imported from OpenAPI", max_len=200)
    return ImportedScenario(
        name=scenario_name,
        description=description,
        template="api.js.j2",
        endpoints=tuple(endpoints),
        header=tuple(header),
        skipped=tuple(skipped),
    )


__all__ = ["METHOD_WEIGHTS", "OpenAPISource", "import_openapi", "load_openapi"]
