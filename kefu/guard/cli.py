"""``kefu guard scan --jsonl``: the secret guard over JSON lines, for evaluation and batch use.

Reads ``{"text": "..."}`` per line and writes, in the same order, one line per input line:
``{"masked": "...", "findings": [{"kind", "start", "end"}]}`` with offsets in code points of the
original text, or ``{"error": {"code": "bad_input", "message": "..."}}`` for a line that is not a
JSON object with a string ``text`` — a bad line never stops the stream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from kefu.guard.secrets import scan

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": "bad_input", "message": message}}


def scan_line(line: str) -> dict[str, Any]:
    """The output object for one input line (without its line ending)."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        return _error(f"not JSON: {exc}")
    if not isinstance(item, dict):
        return _error(f"expected a JSON object, got {type(item).__name__}")
    text = item.get("text")
    if not isinstance(text, str):
        return _error('expected "text" to be a string')
    result = scan(text)
    return {"masked": result.masked,
            "findings": [{"kind": f.kind, "start": f.start, "end": f.end}
                         for f in result.findings]}


def _dumps(item: dict[str, Any]) -> str:
    """Chinese stays readable; text holding lone surrogates (from ``\\ud800`` escapes in the
    input, which cannot be written as UTF-8) is written with ASCII escapes instead."""
    out = json.dumps(item, ensure_ascii=False)
    if _LONE_SURROGATE.search(out):
        return json.dumps(item)
    return out


def _lines(stdin: TextIO) -> Iterator[str | None]:
    """Input lines without their endings; None for a line that is not UTF-8. Reads the bytes
    underneath when there are any, so one undecodable line cannot end the stream."""
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        for line in stdin:
            yield line.rstrip("\r\n")
        return
    for data in raw:
        try:
            yield data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield None


def scan_stream(stdin: TextIO, stdout: TextIO) -> None:
    """Scan every line of ``stdin`` into ``stdout``. Flushes after each line only when ``stdin``
    is interactive; piped input is written through the stream's buffer, for speed."""
    interactive = stdin.isatty()
    for number, line in enumerate(_lines(stdin)):
        if line is None:
            item = _error("not UTF-8")
        else:
            item = scan_line(line.lstrip("\ufeff") if number == 0 else line)
        stdout.write(_dumps(item) + "\n")
        if interactive:
            stdout.flush()
    stdout.flush()
