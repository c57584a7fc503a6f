"""Keep secrets out of everything novaload writes or prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MASK = "***"


class Redactor:
    """Replace each secret value with ``***`` in text (longest first, so overlaps mask fully)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary text ("1", "on"); they are not real secrets.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def secret_values(names: Iterable[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the named environment variables that are set."""
    return tuple(environ[n] for n in names if environ.get(n))


__all__ = ["MASK", "Redactor", "secret_values"]
