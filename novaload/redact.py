"""Keep secrets out of everything novaload writes or prints: the one redactor.

What is a secret:

* the value of an environment variable a header references (``${VAR}``), the user info
  of a target URL (``http://user:pass@host``), a ``-e NAME=VALUE`` whose name says it is
  a secret, and the value of every environment variable whose name says so
  (``API_TOKEN``, ``DB_PASSWORD``, ``GITHUB_TOKEN``, ...);
* whatever follows a secret's *name* in text: ``token=…`` in a query string, a form or a
  cookie, ``"password": "…"`` in a JSON body (escaped once or twice, or HTML-escaped),
  an ``Authorization:`` or ``Cookie:`` header line, and the password of a URL
  (``scheme://user:pass@host``). :data:`SECRET_WORDS` lists the names.

Secret values are masked in each form they can be printed in: as given, JSON-escaped
(k6 logs in logfmt, so a ``"`` or ``\\`` in a logged JSON string is escaped twice),
URL-encoded and HTML-escaped.

It is structural, not a habit: every secret is :func:`remember`-ed for the life of the
process, and the writers apply :func:`redact` themselves: ``fileio.write_atomic`` (every
report, ``run.json``, ``summary.json``, suite indexes, imports), ``fileio.append_text``
(the step summary), ``runners/console.py`` and the local runner (``k6.log`` and each
instance's log, line by line), the CLI's consoles and the history store. A new
file written through them cannot forget it. Bytes are written as given: a copy of the
script k6 runs, and k6's own raw results (``k6-results.json``), are k6's, not novaload's.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

MASK = "***"
# Escaping depth covered: a value JSON-encoded by the script, then escaped by k6's logfmt.
_ESCAPE_DEPTH = 3
# Very short values would mask ordinary text ("1", "on"); they are not real secrets.
_MIN_SECRET = 4
# A variable found by its name alone: a short value ("test", "none") is more likely a
# placeholder than a secret, and masking it would garble every report.
_MIN_NAMED_SECRET = 8

# The usual names of secrets (a query parameter, a form or JSON field, a cookie, a header):
# a name *containing* one of these is a secret's.
SECRET_WORDS = (
    "token",
    "jwt",
    "password",
    "passwd",
    "passw",
    "pwd",
    "secret",
    "api_key",
    "api-key",
    "apikey",
    "session",
    "sessid",
    "signature",
    "authorization",
    "auth",
    "credential",
    "private_key",
    "csrf",
    "xsrf",
    "sig",
)
_WORDS = "|".join(re.escape(w) for w in sorted(SECRET_WORDS, key=len, reverse=True))
_SECRET_NAME = re.compile(rf"(?:{_WORDS})|^key$|[-_]key$", re.I)
# In free text a name must end at one of the words (``auth_token``, ``x-amz-signature``,
# ``JSESSIONID``), so that ``author=`` or ``ws_sessions`` are not taken for secrets.
_KEY = rf"[A-Za-z0-9_.\-]*?(?:{_WORDS}|api[-_]?key|private[-_]?key|access[-_]?key)(?:[-_]?id)?"
# name=value (query strings, forms, cookies, logfmt): any name, then _KEY_NAME decides
# (one alternation tried at every position of a long text is what made this slow).
_ASSIGNED = re.compile(r"(?<![A-Za-z0-9_.\-])([A-Za-z0-9_.\-]+)(=)([^&\s;,\"'<>#\\\x1b]+)")
# "name": "value" in JSON, raw, escaped (\"name\":\"value\") or HTML-escaped
_QUOTED = re.compile(
    r"(?P<q>\\*\"|&quot;|&#34;|&#x22;)(?P<k>[A-Za-z0-9_.\-]+)(?P=q)(?P<sep>\s*:\s*)(?P=q)(?P<v>(?:(?!(?P=q)).)+?)(?P=q)"
)
_KEY_NAME = re.compile(_KEY, re.I)
# Header lines (k6's --http-debug, a logged request), wherever they start in the text
_HEADER = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])(?P<h>(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|api-key"
    r"|x-auth-token|x-access-token|x-csrf-token|x-xsrf-token)[ \t]*:[ \t]*)(?P<v>[^\r\n\"\\<]+)"
)
# scheme://user:password@host (a password in any URL in any text)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@\"'<>]*:)([^@\s/\"'<>]+)(@)")
# What a value may already be and stays: a reference to a variable (a scenario's
# ``Authorization: Bearer ${TOKEN}``), or already masked.
_REFERENCE = re.compile(r"\$\{[^}]*\}|^\*\*\*|__ENV\.\w+")


def is_secret_name(name: str) -> bool:
    """A query parameter, field, cookie or header name that holds a secret."""
    return bool(_SECRET_NAME.search(name))


# Environment variables: the last part of the name (or the whole) says it is a secret.
_ENV_SECRET_PARTS = re.compile(
    r"(?:^|_)(?:[A-Z0-9]*(?:TOKEN|SECRET|PASSWORD|PASSWD|JWT|CREDENTIALS?|SIGNATURE)"
    r"|(?:API|ACCESS|PRIVATE|SECRET|SIGNING|CLIENT)_?KEY|APIKEY|PASS|PAT|SESSION)$",
    re.I,
)
_NOT_SECRET_ENV = {"PWD", "OLDPWD"}


def is_secret_variable(name: str) -> bool:
    """An environment variable whose name says it holds a secret (``GITHUB_TOKEN``)."""
    return name.upper() not in _NOT_SECRET_ENV and bool(_ENV_SECRET_PARTS.search(name))


def environment_secrets(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the variables in ``environ`` whose names say they are secrets."""
    return tuple(v for k, v in environ.items() if v and len(v) >= _MIN_NAMED_SECRET and is_secret_variable(k))


def _json_escaped(value: str, depth: int) -> set[str]:
    forms = set()
    current = value
    for _ in range(depth):
        ascii_form = json.dumps(current)[1:-1]
        forms.add(ascii_form)
        forms.add(json.dumps(current, ensure_ascii=False)[1:-1])
        current = ascii_form
    return forms


def printed_forms(secret: str) -> set[str]:
    """The ways ``secret`` can appear in k6's output, logs and reports."""
    base = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms = set(base)
    for form in base:
        forms |= _json_escaped(form, _ESCAPE_DEPTH)
    forms |= {html.escape(f, quote=q) for f in list(forms) for q in (True, False)}  # HTML reports
    return forms


def _keep_or_mask(value: str) -> str:
    return value if _REFERENCE.search(value) else MASK


# Lower-case words one of which every name-based pattern needs: a text (or a line) without
# any is left as it is after a few substring searches, instead of regular expressions that
# try every position (a 20 MB report has no secret in almost every line).
_TRIGGERS = (*SECRET_WORDS, "apikey", "api-key", "api_key", "access", "private", "cookie", "://")
_WHOLE = 4096  # a text shorter than this is masked at once, not line by line


def _mask_text(text: str) -> str:
    if "=" in text:
        text = _ASSIGNED.sub(
            lambda m: m[1] + m[2] + _keep_or_mask(m[3]) if _KEY_NAME.fullmatch(m[1]) else m[0], text
        )
    if ":" in text:
        text = _QUOTED.sub(
            lambda m: (
                f"{m['q']}{m['k']}{m['q']}{m['sep']}{m['q']}{_keep_or_mask(m['v'])}{m['q']}"
                if _KEY_NAME.fullmatch(m["k"])
                else m[0]
            ),
            text,
        )
        text = _HEADER.sub(lambda m: m["h"] + _keep_or_mask(m["v"]), text)
        if "@" in text:
            text = _URL_PASSWORD.sub(lambda m: m[1] + _keep_or_mask(m[2]) + m[3], text)
    return text


def mask_named(text: str) -> str:
    """Mask what follows a secret's name in ``text`` (see the module docstring). Each
    pattern stays within a line, so a long text is masked only where a line holds one of
    :data:`_TRIGGERS`."""
    low = text.lower()
    hits = [w for w in _TRIGGERS if w in low]
    if not hits:
        return text
    if len(text) < _WHOLE:
        return _mask_text(text)
    spans: list[tuple[int, int]] = []
    for word in hits:
        at = low.find(word)
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            spans.append((start, end))
            at = low.find(word, end)
    spans.sort()
    out: list[str] = []
    done = 0
    for start, end in spans:
        if end <= done:
            continue
        start = max(start, done)
        out.append(text[done:start])
        out.append(_mask_text(text[start:end]))
        done = end
    out.append(text[done:])
    return "".join(out)


class Redactor:
    """Mask every remembered secret (and ``secrets``), in each printed form, with ``***``
    (longest first, so overlaps mask fully), then what follows a secret's name."""

    def __init__(self, secrets: Iterable[str] = (), *, only: bool = False) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        if not only:
            values |= _remembered()
        self.secrets = sorted(
            {f for s in values for f in printed_forms(s) if len(f) >= _MIN_SECRET}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_named(text)


# ---- the process's secrets -----------------------------------------------------------------

_lock = threading.Lock()
_known: set[str] = set()
_environment_read = False
_current: Redactor | None = None


def _remembered() -> set[str]:
    global _environment_read
    with _lock:
        if not _environment_read:
            _environment_read = True
            _known.update(environment_secrets(os.environ))
        return set(_known)


def remember(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in everything this process writes or prints from now on."""
    global _current
    new = {s for s in secrets if s and len(s) >= _MIN_SECRET}
    _remembered()
    with _lock:
        if new - _known:
            _known.update(new)
            _current = None


def redactor() -> Redactor:
    """The redactor of every secret remembered so far (rebuilt when one is added)."""
    global _current
    current = _current
    if current is None:
        current = _current = Redactor()
    return current


def redact(text: str) -> str:
    """``text`` with every remembered secret and every named secret masked."""
    return redactor()(text)


# ---- URLs ------------------------------------------------------------------------------------


def secret_values(names: Iterable[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the named environment variables that are set."""
    return tuple(environ[n] for n in names if environ.get(n))


def safe_url(url: str | None) -> str | None:
    """Drop credentials from a URL before it is written anywhere."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number: mask the user info by hand
        return re.sub(r"(?<=://)[^/@]*@", "", url, count=1)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        if port:
            host += f":{port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def url_credentials(url: str | None) -> tuple[str, ...]:
    """The credentials of ``url`` to redact: the password and the whole user info, as
    written and decoded. A user name alone is not masked (it is often a common word)."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return ()
    if not password:
        return ()
    userinfo = parts.netloc.rpartition("@")[0]
    found = [password, userinfo]
    return tuple(dict.fromkeys([*found, *(unquote(v) for v in found)]))


__all__ = [
    "MASK",
    "SECRET_WORDS",
    "Redactor",
    "environment_secrets",
    "is_secret_name",
    "is_secret_variable",
    "mask_named",
    "printed_forms",
    "redact",
    "redactor",
    "remember",
    "safe_url",
    "secret_values",
    "url_credentials",
]
