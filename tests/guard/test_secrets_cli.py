"""``kefu guard scan --jsonl`` through the real CLI: one output line per input line, in order, bad
lines answered with an error object and the stream going on."""

from __future__ import annotations

import io
import json
import random

from typer.testing import CliRunner

from kefu.cli import app
from kefu.guard.cli import scan_stream
from tests.guard.corpus import seed_phrase

runner = CliRunner()


def run_jsonl(stdin: str | bytes) -> tuple[int, list[dict[str, object]]]:
    result = runner.invoke(app, ["guard", "scan", "--jsonl"], input=stdin)
    lines = result.stdout.splitlines()
    return result.exit_code, [json.loads(line) for line in lines]


def test_outputs_follow_inputs_in_order() -> None:
    phrase = seed_phrase(random.Random(3))
    texts = ["hello", f"my seed phrase is {phrase}", "我的密码是abc12345", "txid 0x" + "ab" * 32,
             "PIN 4821", "你好"]
    code, out = run_jsonl("".join(json.dumps({"text": t}) + "\n" for t in texts))
    assert code == 0
    assert len(out) == len(texts)
    assert out[0] == {"masked": "hello", "findings": []}
    assert out[1]["masked"] == "my seed phrase is [REDACTED seed_phrase]"
    assert out[1]["findings"] == [{"kind": "seed_phrase", "start": 18, "end": 18 + len(phrase)}]
    assert out[2] == {"masked": "我的密码是[REDACTED password]",
                      "findings": [{"kind": "password", "start": 5, "end": 13}]}
    assert out[3]["findings"] == []
    assert out[4]["findings"] == [{"kind": "pin", "start": 4, "end": 8}]
    assert out[5] == {"masked": "你好", "findings": []}


def test_offsets_are_code_points_of_the_original_text() -> None:
    text = "😀😀 验证码：123456"
    _, out = run_jsonl(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    finding = out[0]["findings"][0]  # type: ignore[index]
    assert text[finding["start"]:finding["end"]] == "123456"


def test_bad_lines_get_an_error_and_the_stream_goes_on() -> None:
    stdin = (b'not json\n{"text": 5}\n[1, 2]\n{"other": "x"}\n\n\xff\xfe\n'
             b'{"text": "my password is Hunter2!"}\n')
    code, out = run_jsonl(stdin)
    assert code == 0
    assert len(out) == 7
    for item in out[:6]:
        assert item["error"]["code"] == "bad_input"  # type: ignore[index]
        assert item["error"]["message"]  # type: ignore[index]
    assert out[6]["masked"] == "my password is [REDACTED password]"


def test_without_jsonl_the_command_fails_with_exit_code_2() -> None:
    result = runner.invoke(app, ["guard", "scan"], input="")
    assert result.exit_code == 2
    assert "--jsonl" in result.stderr


class _Terminal(io.StringIO):
    """A text stream that says it is interactive and counts flushes."""

    flushes = 0

    def isatty(self) -> bool:
        return True

    def flush(self) -> None:
        self.flushes += 1


class _CountingOut(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_flushes_per_line_only_when_interactive() -> None:
    lines = "".join(json.dumps({"text": f"line {i}"}) + "\n" for i in range(5))
    interactive_out, piped_out = _CountingOut(), _CountingOut()
    scan_stream(_Terminal(lines), interactive_out)
    scan_stream(io.StringIO(lines), piped_out)
    assert interactive_out.getvalue() == piped_out.getvalue()
    assert len(piped_out.getvalue().splitlines()) == 5
    assert interactive_out.flushes >= 5
    assert piped_out.flushes == 1


def test_lone_surrogates_are_written_as_escapes() -> None:
    out = io.StringIO()
    scan_stream(io.StringIO('{"text": "\\ud800 pin 1234"}\n'), out)
    line = out.getvalue()
    assert line.isascii()
    assert json.loads(line)["masked"] == "\ud800 pin [REDACTED pin]"
