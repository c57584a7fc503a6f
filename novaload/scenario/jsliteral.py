"""``to_js``: a value as a JavaScript literal that is a value and nothing else, wherever a
generated script puts it (a template's ``{{ expression }}``, the ``--traces`` entry script's
import). JSON escapes quotes, backslashes and control characters; U+2028/U+2029 (line
terminators to JavaScript before ES2019) become ``\\uXXXX``, and ``</`` becomes ``<\\/`` (the
same string to JSON and JavaScript), so no ``</script>`` appears even inside HTML.

Its own module, free of Jinja2: a user's script run with ``--traces`` needs it before k6
starts, and nothing else of the templates.
"""

from __future__ import annotations

import json
from typing import Any


def to_js(value: Any) -> str:
    """JSON-encode ``value`` as a JavaScript literal (pretty-printed, two spaces)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=2)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("</", "<\\/")


__all__ = ["to_js"]
