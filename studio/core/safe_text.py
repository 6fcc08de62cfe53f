"""Text from users' files (file names, class names) made safe for where it is written.

- A terminal: control characters (ESC sequences can retitle, recolour or rewrite the screen), bidirectional
  overrides and undecodable file-name bytes are shown escaped (``\\x1b``, ``\\u202e``), never interpreted.
- A CSV opened in a spreadsheet: a cell starting with ``= + - @`` (or a tab / carriage return) is a formula
  there; it is written with a leading apostrophe, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: Any, keep: str = "") -> str:
    """``text`` for printing on a terminal: every control or invisible-direction character escaped, except
    those in ``keep`` (a stream's own line breaks)."""
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), str(text))


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: numbers as they are, text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)  # "-0.5" is a number, not a formula
            return value
        except ValueError:
            return "'" + value
    return value
