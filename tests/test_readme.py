"""README.md matches the code: section order, every command it shows, every variable, the example message."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import pytest
import requests

import bot.config
from bot.cli import build_parser, main
from bot.tools.preview import PreviewRequest, run_preview
from tests.support.processes import answers_healthz
from tests.support.waiting import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

SECTIONS = [
    "Quick start",
    "Create the Slack app",
    "Configure",
    "Run",
    "Usage",
    "Troubleshooting",
    "Reliability and security",
    "Operating it",
    "Development",
    "Performance",
    "Project layout",
]


def code_blocks(language: str | None = None) -> list[str]:
    blocks = re.findall(r"```(\w*)\n(.*?)```", README, re.DOTALL)
    return [body for lang, body in blocks if language is None or lang == language]


def bot_commands() -> list[list[str]]:
    """Every `participations-bot …` invocation in the README: code blocks, inline code and the Procfile line."""
    found: list[str] = []
    for block in code_blocks():
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            for part in command.split("&&"):
                if part.strip().startswith("participations-bot "):
                    found.append(part.strip())
    found += [m for m in re.findall(r"`([^`]+)`", README) if m.startswith("participations-bot ")]
    return [shlex.split(command.replace("$PORT", "5000"))[1:] for command in found]


def test_sections_in_the_issues_order() -> None:
    headings = re.findall(r"^## (.+)$", README, re.MULTILINE)
    assert headings == SECTIONS


def test_quick_start_is_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", quick, re.DOTALL)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands == [
        "pip install -e '.[dev]' && participations-bot preview --sample jane@example.com",
        "python -m pytest",
    ]


def test_every_command_shown_is_one_the_cli_accepts() -> None:
    commands = bot_commands()
    assert {args[0] for args in commands} == {"serve", "socket", "preview", "check"}
    parser = build_parser()
    for args in commands:
        parser.parse_args(args)  # exits (fails the test) on an unknown option or subcommand


def test_every_sample_preview_shown_works(capsys: pytest.CaptureFixture[str]) -> None:
    samples = [args for args in bot_commands() if args[0] == "preview" and "--sample" in args]
    assert len(samples) >= 3
    for args in samples:
        assert main(args, environ={}) == 0, args
        assert capsys.readouterr().out.strip()


def test_example_message_is_what_preview_prints() -> None:
    example = code_blocks("text")[0]
    out = io.StringIO()
    run_preview(PreviewRequest(identifier="jane@example.com", sample=True), environ={}, out=out, tz=timezone.utc)
    printed = out.getvalue().splitlines()
    for line in example.splitlines():
        if line.strip() and line != "…":
            assert line in printed


def test_every_variable_is_documented_and_in_env_example() -> None:
    source = Path(bot.config.__file__).read_text(encoding="utf-8")
    read_by_code = set(re.findall(r"\benv(?:\.get\(|, )\"([A-Z][A-Z0-9_]+)\"", source))
    in_readme = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", README, re.MULTILINE))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    in_example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert len(read_by_code) >= 20
    assert in_readme == read_by_code
    assert in_example == read_by_code


def test_procfile_runs_the_documented_command() -> None:
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8").strip()
    assert procfile == "web: participations-bot serve --port $PORT"
    assert "`participations-bot serve --port $PORT`" in README


def test_serve_answers_healthz(tmp_path: Path) -> None:
    """`participations-bot serve --port N` as documented (bound to 127.0.0.1 here)."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "HUBSPOT_ACCESS_TOKEN": "hs-test",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "HUBSPOT_API_BASE": "http://127.0.0.1:9",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        started = wait_until(lambda: answers_healthz(port, timeout=1.0) or process.poll() is not None, timeout=20)
        assert started and process.poll() is None, process.stderr.read() if process.stderr else ""
        response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert response.status_code == 200
        assert response.text == "ok\n"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_socket_without_app_token_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"SLACK_BOT_TOKEN": "xoxb-test", "HUBSPOT_ACCESS_TOKEN": "hs-test"}
    assert main(["socket"], environ=environ) == 2
    assert "missing required setting(s): SLACK_APP_TOKEN" in capsys.readouterr().err


def layout_paths() -> list[str]:
    """Every path the README's layout table names: its first column, and the modules named inside a package's row."""
    layout = README.split("## Project layout", 1)[1]
    paths: list[str] = []
    for line in layout.splitlines():
        if not line.startswith("| `"):
            continue
        first, what = line.split(" | ", 1)
        row = re.findall(r"`([^`]+)`", first)
        paths += row
        for package in (p for p in row if p.endswith("/")):
            paths += [package + name for name in re.findall(r"`([a-z_]+\.py)`", what)]
    return paths


def test_every_path_in_the_layout_table_exists() -> None:
    missing = [path for path in layout_paths() if not (ROOT / path).exists()]
    assert not missing


@pytest.mark.parametrize("package", ["bot", "tests/support", "bench"])
def test_every_module_is_in_the_layout_table(package: str) -> None:
    named = set(layout_paths())
    modules = [path.relative_to(ROOT).as_posix() for path in sorted((ROOT / package).rglob("*.py"))]
    unnamed = [module for module in modules if module not in named and not module.endswith("/__init__.py")]
    if package != "bot":  # `python -m bot` is in the table; `python -m bench` is the benchmark's own row
        unnamed = [module for module in unnamed if not module.endswith("/__main__.py")]
    assert not unnamed
