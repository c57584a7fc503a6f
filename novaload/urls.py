"""URLs derived from the system under test's base URL (one rule, used by the config, the
script renderer, the pipeline and the demo target)."""

from __future__ import annotations


def ws_url_for(base_url: str) -> str:
    """The WebSocket URL of an HTTP base URL: ``http://h`` → ``ws://h``, ``https://h`` →
    ``wss://h``; anything that is not http(s) comes back unchanged."""
    if base_url.startswith(("http://", "https://")):
        return "ws" + base_url[len("http") :]
    return base_url


__all__ = ["ws_url_for"]
