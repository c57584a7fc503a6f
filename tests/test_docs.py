"""The README and the manual under docs/ link only inside the repository.

A link outside it rots (a moved page, a machine without the network), and a link to a
file beside the checkout (``../shared/...``) is broken for everyone else. ``mkdocs build
--strict`` (``make docs``) checks the links between docs pages; this checks the rest: the
README's links, links to files outside ``docs/``, and web addresses anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "monitoring" / "README.md"]
    + list((ROOT / "docs").rglob("*.md"))
)
# [text](target) and ![alt](target), reference definitions "[x]: target", <autolinks>.
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code: URLs there are examples."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE.findall(prose) + _REFERENCE.findall(prose) + _AUTOLINK.findall(prose)


def _problem(document: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
        return f"links outside the repository: {target}"
    path = target.split("#", 1)[0]
    if not path:
        return None  # an anchor on the same page (mkdocs checks docs pages' anchors)
    resolved = (document.parent / path).resolve()
    if not resolved.is_relative_to(ROOT):
        return f"links to a file outside the repository: {target}"
    if not resolved.exists():
        return f"links to a file that does not exist: {target}"
    return None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(document: Path) -> None:
    problems = [problem for target in _links(document.read_text()) if (problem := _problem(document, target))]
    assert not problems, f"{document.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_link_check_sees_what_it_must_refuse(tmp_path: Path) -> None:
    page = ROOT / "docs" / "page.md"
    assert _problem(page, "https://grafana.com/docs/k6/") is not None
    assert _problem(page, "../../shared/tools/k8s-local/README.md") is not None
    assert _problem(page, "missing.md") is not None
    assert _problem(page, "index.md#top") is None
    assert _links("see [k6](https://k6.io) and `[x](http://in.code)`\n```\n[y](http://z)\n```\n") == [
        "https://k6.io"
    ]


def test_readme_is_a_front_page_that_starts_with_the_quick_start() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    sections = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert sections[0] == "Quick start"
    first_commands = re.search(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    assert first_commands is not None
    commands = [line.split("#")[0].strip() for line in first_commands.group(1).splitlines()]
    assert commands == ["make test-api", "make check"]
