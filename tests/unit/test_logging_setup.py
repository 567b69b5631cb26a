"""LOG_LEVEL and LOG_FORMAT: one JSON object per line on stderr, tokens scrubbed, stdout left alone."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_settings
from bot.logging_setup import JsonFormatter, ScrubbingFormatter, configure_logging
from tests.support.processes import run_bot

SECRETS = ("xoxb-1234-5678-abcdef", "xapp-1-A1-99-ffff", "pat-na1-11111111-2222-3333", "Bearer sk-live-secret")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_mode_is_one_object_per_line_and_scrubs_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "json")
    log = logging.getLogger("bot.test")

    log.debug("token %s in a message", SECRETS[0])
    log.info("multi\nline with %s and %s", SECRETS[1], SECRETS[2], extra={"audit": {"kind": "command", "ok": True}})
    try:
        raise RuntimeError(f"failed with {SECRETS[3]}")
    except RuntimeError:
        log.exception("lookup failed")

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in entries)
    assert [entry["level"] for entry in entries] == ["debug", "info", "error"]
    assert entries[1]["message"] == "multi\nline with [redacted] and [redacted]"
    assert entries[1]["audit"] == {"kind": "command", "ok": True}
    assert "RuntimeError: failed with [redacted]" in entries[2]["exception"]
    for secret in SECRETS:
        assert secret.split()[-1] not in captured.err


@given(st.text(), st.sampled_from(SECRETS))
def test_any_message_stays_one_json_line(text: str, secret: str) -> None:
    """Redaction happens before encoding: a token next to quotes or newlines never breaks the JSON line."""
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, f'{text}"{secret}"\n{text}', None, None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "[redacted]" in json.loads(line)["message"]
    assert secret.split()[-1] not in line


def test_text_mode_scrubs_too_and_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "text")
    log = logging.getLogger("bot.test")
    log.info("hidden %s", SECRETS[0])
    log.warning("shown %s", SECRETS[0])
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "WARNING bot.test: shown [redacted]" in err
    assert SECRETS[0] not in err


def test_settings_read_log_variables() -> None:
    settings = load_settings({"LOG_LEVEL": "debug", "LOG_FORMAT": "JSON"})
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        load_settings({"LOG_FORMAT": "yaml"})


def test_preview_json_keeps_stdout_pure_with_json_logs(tmp_path: Path) -> None:
    """LOG_FORMAT=json LOG_LEVEL=DEBUG: stdout is exactly the payload, every stderr line is a JSON object."""
    result = run_bot(
        "preview",
        "--sample",
        "jane@example.com",
        "--json",
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["blocks"]
    lines = result.stderr.splitlines()
    assert lines, "the debug line about the sample server"
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert any("sample HubSpot serving on http://127.0.0.1:" in json.loads(line)["message"] for line in lines)


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cr3t-pw@redis.example.com:6379/0",
        "rediss://default:s3cr3t-pw@redis.example.com:6380",
        "unix://:s3cr3t-pw@/var/run/redis.sock?db=1",
        "redis://redis.example.com:6379/0?password=s3cr3t-pw",
        "redis://:s3cr3t@pw@redis.example.com:6379",
    ],
)
def test_a_password_in_a_redis_url_is_scrubbed_but_the_host_stays(url: str) -> None:
    line = ScrubbingFormatter("%(message)s").format(
        logging.LogRecord("bot", logging.WARNING, __file__, 1, "cannot reach %s now", (url,), None)
    )
    assert "s3cr3t" not in line and "pw@" not in line
    assert "redis.example.com" in line or "/var/run/redis.sock" in line


@given(st.text())
def test_any_message_stays_one_line_in_both_formats(text: str) -> None:
    """A forged newline (or U+2028, U+0085, ESC…) from a user id or from HubSpot is written escaped, never raw."""
    try:
        raise ValueError(text)
    except ValueError:
        record = logging.LogRecord("bot.audit", logging.INFO, __file__, 1, "user=%s", (text,), sys.exc_info())
    plain = ScrubbingFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert len(plain.splitlines()) == 1
    assert not any(char in plain for char in "\x1b\x7f\u2028\u2029\u202e")
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == f"user={text}"
    assert "ValueError" in json.loads(line)["exception"]
