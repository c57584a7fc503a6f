"""Keep secrets out of everything novaload writes or prints.

A secret is any value of an environment variable a header references (``${VAR}``)
and the user name and password of a target URL (``http://user:pass@host``). Secrets
reach k6 only through its environment; :class:`Redactor` masks them in everything
novaload writes or prints, in each form k6 may print them: as given, JSON-escaped
(k6 logs in logfmt, so a ``"`` or ``\\`` in a logged JSON string is escaped twice)
and URL-encoded (a secret in a query string or in a URL's user info).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from novaload.fileio import write_atomic

MASK = "***"
# Escaping depth covered: a value JSON-encoded by the script, then escaped by k6's logfmt.
_ESCAPE_DEPTH = 3


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


class Redactor:
    """Replace each secret, in each printed form, with ``***`` (longest first, so overlaps mask fully)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary text ("1", "on"); they are not real secrets.
        values = {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(
            {f for s in values for f in printed_forms(s) if len(f) >= 4}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def redact_file(self, path: Path) -> None:
        """Mask secrets in a text file novaload wrote (rewritten atomically, only if needed)."""
        if not self.secrets:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        masked = self(text)
        if masked != text:
            write_atomic(path, masked)


def secret_values(names: Iterable[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the named environment variables that are set."""
    return tuple(environ[n] for n in names if environ.get(n))


def safe_url(url: str | None) -> str | None:
    """Drop credentials from a URL before it is written anywhere."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        if parts.port:
            host += f":{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def url_credentials(url: str | None) -> tuple[str, ...]:
    """The credentials of ``url`` to redact: the password and the whole user info, as
    written and decoded. A user name alone is not masked (it is often a common word)."""
    if not url:
        return ()
    parts = urlsplit(url)
    if not parts.password:
        return ()
    userinfo = parts.netloc.rpartition("@")[0]
    found = [parts.password, userinfo]
    return tuple(dict.fromkeys([*found, *(unquote(v) for v in found)]))


__all__ = ["MASK", "Redactor", "printed_forms", "safe_url", "secret_values", "url_credentials"]
