"""A browser recording (HAR 1.2) → a ``flow`` scenario: the recorded requests in order.

* **order and think times**: requests are replayed in the order they started; each one
  sleeps first for the gap between the end of the previous kept request and its own
  start (parallel requests sleep 0; gaps are capped at ``max_think_time``).
* **one origin**: the page's host (the first document's, else the first request's), or
  the one given with ``host``; requests to other hosts are third-party and left out.
* **static assets** (stylesheets, scripts, images, fonts, media, source maps — by the
  browser's resource type, the response type or the file extension) are left out unless
  ``keep_static``; pages (documents) and API calls stay.
* **secrets are never copied**: credential-like headers (Authorization, API keys,
  tokens, CSRF, anything named like a token/secret/key/session/password/signature),
  cookies the recording did not receive from the server, and credential-like query
  and body fields become ``${VAR}`` references; finally every remaining occurrence of a
  replaced value anywhere in the scenario is replaced too. Cookies the server set in the
  recording are left to k6's cookie jar, which receives them again on replay.
* browser-managed headers (Host, User-Agent, Sec-*, Accept-Encoding, Referer, caching
  conditionals, …) are dropped; each recorded status is the expected one (redirects are
  not followed, so each hop replays as recorded; a 304 also accepts 200).

Everything left out is listed in the output's comments, with the reason.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from novaload.errors import InputError
from novaload.importers.common import (
    ImportedEndpoint,
    ImportedScenario,
    comment,
    endpoint_name,
    env_name,
    slug,
    unique_names,
)
from novaload.inputs import HAR, json_depth_over, load_json, read_text
from novaload.redact import is_secret_name, mask_named, safe_url

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_STATIC_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest", "texttrack", "imageset"}
_STATIC_MIME = re.compile(
    r"^(text/css|image/|font/|audio/|video/|application/(x-)?(javascript|font|wasm))|javascript"
)
_STATIC_EXT = re.compile(
    r"\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|bmp|woff2?|ttf|otf|eot|mp3|mp4|webm|ogg|wasm)$", re.I
)
# Headers the browser or k6 manage, or that would change the replay (caching conditionals).
_DROP_HEADERS = {
    "host",
    "connection",
    "content-length",
    "accept-encoding",
    "user-agent",
    "cookie",
    "referer",
    "origin",  # the recording's origin; the replay's target is another
    "upgrade-insecure-requests",
    "cache-control",
    "pragma",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "te",
    "keep-alive",
    "proxy-connection",
    "priority",
    "dnt",
    "purpose",
}
_SECRET_HEADERS = {"authorization", "proxy-authorization"}
_AUTH_SCHEME = re.compile(r"^(Bearer|Basic|Token|Digest|Negotiate|AWS4-HMAC-SHA256)\s+", re.I)
_MAX_LISTED = 60


@dataclass
class _Secrets:
    """Replaced values and the variables that stand for them (one variable per value)."""

    prefix: str
    by_value: dict[str, str] = field(default_factory=dict)
    described: dict[str, str] = field(default_factory=dict)

    def ref(self, value: str, label: str, what: str) -> str:
        if value in self.by_value:
            return "${" + self.by_value[value] + "}"
        base = self.prefix + re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").upper()
        name, n = base, 1
        while name in self.described:
            n += 1
            name = f"{base}_{n}"
        self.by_value[value] = name
        self.described[name] = what
        return "${" + name + "}"

    def scrub(self, value: Any) -> Any:
        """Replace every remaining occurrence of a replaced value (longest first)."""
        if isinstance(value, str):
            for secret in sorted(self.by_value, key=len, reverse=True):
                if len(secret) >= 4 and secret in value:
                    value = value.replace(secret, "${" + self.by_value[secret] + "}")
            return value
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        return value


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int
    started: float  # epoch seconds
    duration: float  # seconds
    method: str
    url: str
    request: dict[str, Any]
    response: dict[str, Any]
    resource_type: str


def _load(path: Path) -> dict[str, Any]:
    data = load_json(read_text(path, HAR, what="HAR file"), str(path), HAR)
    if not isinstance(data, dict) or not isinstance(data.get("log"), dict):
        raise InputError(f"{path}: log: missing (not a HAR file)")
    if not isinstance(data["log"].get("entries"), list):
        raise InputError(f"{path}: log.entries: missing or not a list (not a HAR file)")
    return data


def _entries(path: Path, raw: list[Any]) -> list[_Entry]:
    out = []
    for i, entry in enumerate(raw):
        where = f"{path}: log.entries[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: must be an object")
        request = entry.get("request")
        if not isinstance(request, dict):
            raise InputError(f"{where}.request: missing")
        for key in ("method", "url"):
            if not isinstance(request.get(key), str) or not request[key]:
                raise InputError(f"{where}.request.{key}: missing")
        try:
            started = datetime.fromisoformat(str(entry.get("startedDateTime"))).timestamp()
        except ValueError:
            raise InputError(
                f"{where}.startedDateTime: not an ISO 8601 time (got {entry.get('startedDateTime')!r})"
            ) from None
        took = entry.get("time", 0)
        duration = float(took) / 1000.0 if isinstance(took, (int, float)) and took > 0 else 0.0
        raw_response = entry.get("response")
        response: dict[str, Any] = raw_response if isinstance(raw_response, dict) else {}
        out.append(
            _Entry(
                index=i,
                started=started,
                duration=duration,
                method=request["method"].upper(),
                url=request["url"],
                request=request,
                response=response,
                resource_type=str(entry.get("_resourceType") or ""),
            )
        )
    return sorted(out, key=lambda e: (e.started, e.index))


def _headers(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in message.get("headers") or []
        if isinstance(h, dict)
    ]


def _is_static(entry: _Entry) -> bool:
    if entry.resource_type in _STATIC_TYPES:
        return True
    if entry.resource_type in ("document", "fetch", "xhr"):
        return False
    content = entry.response.get("content")
    mime = str(content.get("mimeType", "") if isinstance(content, dict) else "").lower()
    if mime and _STATIC_MIME.search(mime):
        return True
    return bool(_STATIC_EXT.search(urlsplit(entry.url).path))


def _origin_of(entries: list[_Entry], host: str | None) -> tuple[str, str]:
    """The (scheme, netloc) the scenario replays."""
    web = [e for e in entries if urlsplit(e.url).scheme in ("http", "https")]
    if host:
        for e in web:
            parts = urlsplit(e.url)
            if host in (parts.netloc, parts.hostname):
                return parts.scheme, parts.netloc
        known = sorted({urlsplit(e.url).netloc.rpartition("@")[2] for e in web})
        raise InputError(
            f"--host {host}: no recorded request went there (hosts: {', '.join(known) or 'none'})"
        )
    if not web:
        raise InputError("no http(s) request in the recording")
    page = next((e for e in web if e.resource_type == "document"), None)
    if page is None:
        page = next(
            (e for e in web if "html" in str((e.response.get("content") or {}).get("mimeType", ""))), web[0]
        )
    parts = urlsplit(page.url)
    return parts.scheme, parts.netloc


def _set_cookie_names(entry: _Entry) -> set[str]:
    names = {str(c.get("name")) for c in entry.response.get("cookies") or [] if isinstance(c, dict)}
    for name, value in _headers(entry.response):
        if name.lower() == "set-cookie":
            names.add(value.split("=", 1)[0].strip())
    return names


def _request_cookies(entry: _Entry) -> list[tuple[str, str]]:
    cookies = [
        (str(c.get("name")), str(c.get("value", "")))
        for c in entry.request.get("cookies") or []
        if isinstance(c, dict) and c.get("name")
    ]
    if cookies:
        return cookies
    for name, value in _headers(entry.request):
        if name.lower() == "cookie":
            for part in value.split(";"):
                key, _, val = part.strip().partition("=")
                if key:
                    cookies.append((key, val))
    return cookies


def _secret_name(name: str) -> bool:
    return name.lower() in _SECRET_HEADERS or is_secret_name(name)


def _shown(url: str) -> str:
    """A recorded URL as a comment or a message shows it: no user info, no secret values."""
    return comment(mask_named(safe_url(url) or ""), max_len=200)


def _secret_fields(value: Any, secrets: _Secrets) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                secrets.ref(v, f"BODY_{k}", f"body field {k}")
                if isinstance(v, str) and v and _secret_name(str(k))
                else _secret_fields(v, secrets)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_secret_fields(v, secrets) for v in value]
    return value


def _body(entry: _Entry, secrets: _Secrets) -> tuple[Any, str, str]:
    """(body or None, content type, note)."""
    post = entry.request.get("postData")
    if not isinstance(post, dict):
        return None, "", ""
    mime = str(post.get("mimeType", ""))
    text = post.get("text")
    size = entry.request.get("bodySize")
    if text == "" and isinstance(size, int) and size > 0:
        return None, mime, f"{size}-byte body not in the recording (recorded without content): not sent"
    if not isinstance(text, str):
        if post.get("params"):
            return None, mime, "multipart/form body not recorded as text: not sent"
        return None, mime, ""
    lowered = mime.lower()
    if "json" in lowered:
        try:  # a body nested past the bound is replayed as the text it is
            parsed = None if json_depth_over(text, HAR.max_depth) else json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return _secret_fields(parsed, secrets), mime, ""
    if "x-www-form-urlencoded" in lowered:
        pairs = parse_qsl(text, keep_blank_values=True)
        encoded = [
            f"{quote_plus(k)}="
            + (secrets.ref(v, f"BODY_{k}", f"form field {k}") if v and _secret_name(k) else quote_plus(v))
            for k, v in pairs
        ]
        return "&".join(encoded), mime, ""
    if "multipart/" in lowered:
        return None, mime, "multipart body not replayed (files and boundaries): not sent"
    return text, mime, ""


def _path(url: str, secrets: _Secrets) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    if not parts.query:
        return path
    out = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and _secret_name(key):
            out.append(
                f"{quote(key, safe='')}={secrets.ref(value, f'QUERY_{key}', f'query parameter {key}')}"
            )
        else:
            out.append(f"{quote(key, safe='')}={quote(value, safe=',:')}")
    return f"{path}?{'&'.join(out)}"


def import_har(
    source: str | Path,
    *,
    name: str | None = None,
    host: str | None = None,
    keep_static: bool = False,
    max_think_time: float = 30.0,
) -> ImportedScenario:
    """Turn a HAR recording into an :class:`ImportedScenario` of the ``flow`` template."""
    path = Path(source)
    data = _load(path)
    entries = _entries(path, data["log"]["entries"])
    scheme, netloc = _origin_of(entries, host)
    scenario_name = name or slug(path.stem, fallback="recording")
    secrets = _Secrets(prefix=env_name(scenario_name, fallback="HAR") + "_")
    skipped: list[str] = []
    third_party: Counter[str] = Counter()
    static: list[str] = []
    kept: list[_Entry] = []
    for e in entries:
        parts = urlsplit(e.url)
        label = f"{e.method} {_shown(e.url)}"
        if parts.scheme not in ("http", "https") or e.resource_type == "websocket":
            skipped.append(f"{label}: {parts.scheme or e.resource_type} request, not replayed")
        elif parts.netloc != netloc or parts.scheme != scheme:
            third_party[f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"] += 1
        elif not keep_static and _is_static(e):
            static.append(label)
        elif e.method not in _METHODS:
            skipped.append(f"{label}: method {e.method} is not replayed")
        elif e.method == "OPTIONS" and any(
            n.lower() == "access-control-request-method" for n, _ in _headers(e.request)
        ):
            skipped.append(f"{label}: CORS preflight (the browser's, not the API's)")
        elif not isinstance(e.response.get("status"), int) or e.response["status"] <= 0:
            skipped.append(f"{label}: no response in the recording (failed or aborted)")
        else:
            kept.append(e)
    if not kept:
        raise InputError(
            f"{path}: no request left to replay for {scheme}://{netloc} "
            f"({len(static)} static, {sum(third_party.values())} third-party, {len(skipped)} other)",
            hint="--keep-static keeps static assets; --host picks another host",
        )
    server_cookies: set[str] = set()
    endpoints: list[ImportedEndpoint] = []
    capped: list[str] = []
    previous_end: float | None = None
    for e in kept:
        headers: dict[str, str] = {}
        for hname, value in _headers(e.request):
            low = hname.lower()
            if low.startswith((":", "sec-")) or low in _DROP_HEADERS:
                continue
            if _secret_name(hname) and value:
                scheme_match = _AUTH_SCHEME.match(value)
                prefix = scheme_match.group(0) if scheme_match else ""
                secret = value[len(prefix) :]
                headers[hname] = prefix + secrets.ref(secret, hname, f"{hname} header")
            else:
                headers[hname] = value
        cookie_parts = []
        for cname, cvalue in _request_cookies(e):
            if cname in server_cookies:
                continue  # k6's cookie jar got it from the replayed response
            cookie_parts.append(f"{cname}={secrets.ref(cvalue, f'COOKIE_{cname}', f'cookie {cname}')}")
        if cookie_parts:
            headers["Cookie"] = "; ".join(cookie_parts)
        body, mime, body_note = _body(e, secrets)
        if body is None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        elif mime and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = mime
        status = int(e.response["status"])
        expect = [200, 304] if status == 304 else [status]
        pause = 0.0 if previous_end is None else max(0.0, e.started - previous_end)
        if pause > max_think_time:
            capped.append(
                f"{e.method} {_shown(e.url)}: think time {pause:.1f} s capped at {max_think_time:g} s"
            )
            pause = max_think_time
        previous_end = max(previous_end or 0.0, e.started + e.duration)
        endpoint: dict[str, Any] = {"name": "", "method": e.method, "path": _path(e.url, secrets)}
        if body is not None:
            endpoint["body"] = body
        if headers:
            endpoint["headers"] = headers
        endpoint["expect_status"] = expect
        endpoint["sleep_before"] = round(pause, 3)
        note = f"{e.method} {urlsplit(e.url).path} → {status}" + (f" · {body_note}" if body_note else "")
        endpoints.append(ImportedEndpoint(endpoint, note))
        server_cookies |= _set_cookie_names(e)
    for item, ename in zip(
        endpoints, unique_names([endpoint_name(e.method, urlsplit(e.url).path) for e in kept])
    ):
        item.data["name"] = ename
    # The safety net: a replaced value that also appears elsewhere (a body, a path) goes too.
    endpoints = [ImportedEndpoint(secrets.scrub(ep.data), ep.note) for ep in endpoints]
    listed = [
        f"third-party host {h}: {n} request(s) (--host {urlsplit(h).netloc} replays that host instead)"
        for h, n in sorted(third_party.items())
    ]
    if static:
        listed += [f"static asset (--keep-static keeps it): {s}" for s in static[:_MAX_LISTED]]
        if len(static) > _MAX_LISTED:
            listed.append(f"… and {len(static) - _MAX_LISTED} more static assets")
    listed += skipped + capped
    log = data["log"]
    creator = log.get("creator") if isinstance(log.get("creator"), dict) else {}
    browser = log.get("browser") if isinstance(log.get("browser"), dict) else {}
    recorded_by = " / ".join(
        f"{d.get('name', '')} {d.get('version', '')}".strip() for d in (creator, browser) if d.get("name")
    )
    origin = f"{scheme}://{netloc}"
    header = [
        f"Imported by `novaload import har` from {path.name}"
        + (f" (recorded with {recorded_by})" if recorded_by else ""),
        f"Recorded against {origin}: run with --target {origin}, or an environment whose base_url serves the same app.",
        "The flow template replays the requests in order; sleep_before is the recorded think time (seconds).",
        "Cookies the server set while recording come from k6's cookie jar on replay; thresholds: novaload's default SLO.",
    ]
    if secrets.described:
        header.append(
            "Secrets were replaced, never copied; export before running: "
            + ", ".join(f"{var} ({what})" for var, what in sorted(secrets.described.items()))
        )
    return ImportedScenario(
        name=scenario_name,
        description=comment(f"Recorded browser flow on {origin} ({len(endpoints)} requests)", max_len=200),
        template="flow.js.j2",
        endpoints=tuple(endpoints),
        header=tuple(header),
        skipped=tuple(listed),
    )


__all__ = ["import_har"]
