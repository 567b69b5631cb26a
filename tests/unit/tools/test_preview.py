"""`participations-bot preview`: the bot's lookup and views, rendered for a terminal or as Block Kit JSON."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.cli import main
from bot.domain.buttons import decode_query
from bot.domain.queries import PageQuery
from bot.hubspot.client import HubSpotClient
from bot.hubspot.errors import AuthenticationFailed, BadRequest, ContactNotFound
from bot.hubspot.models import State, parse_page
from bot.i18n import Translator
from bot.render.blocks import NEXT_ACTION_ID, displayable, escape
from bot.render.page import render_page
from bot.sample import SAMPLE_TOKEN, SampleHubSpot, load_sample
from bot.sample.server import answer, decode_cursor, encode_cursor, load_directory, search
from bot.tools.terminal import format_slack_date, mrkdwn_to_text, render_terminal
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.slack import find_button
from tests.support.tokens import HUBSPOT_TOKEN

UTC = timezone.utc
SAO_PAULO = timezone(timedelta(hours=-3))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MARKERS = ("✅", "📝", "❌", "🚫", "⚪", "❔")


def preview(
    capsys: pytest.CaptureFixture[str], *args: str, environ: dict[str, str] | None = None
) -> tuple[int, str, str]:
    code = main(["preview", *args], environ=environ if environ is not None else {})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sample_page(identifier: str, limit: int = 10) -> tuple[Any, PageQuery]:
    records = load_sample()[identifier]
    body: dict[str, Any] = {"total": len(records), "results": records[:limit]}
    if len(records) > limit:
        body["paging"] = {"next": {"after": encode_cursor(limit)}}
    return parse_page(body), PageQuery(identifier=identifier, limit=limit)


# -- the terminal rendering (pure) --------------------------------------------------------------------


def test_terminal_rendering_of_a_page() -> None:
    page, query = sample_page("jane@example.com")
    message = render_page(page, query, Translator("en"))

    text = render_terminal(message, tz=UTC, now=NOW, command="participations-bot preview --sample")
    lines = text.splitlines()

    assert lines[0] == "Marketing events · Jane Doe"
    assert lines[2] == "*Jane Doe* · jane@example.com"
    assert lines[3] == "23 participation records · HubSpot contact 101"
    assert sum(1 for line in lines if line.startswith(MARKERS)) == 10  # one entry per participation
    assert "Attended · Apr 21, 2026 at 4:00 PM · 87% attended · 52m" in lines
    assert "✅ *Pricing & Packaging Office Hours <Live>*" in lines  # entities unescaped for the terminal
    assert "❌ *<!channel> All-hands partner briefing*" in lines  # shown as text, as Slack shows it
    assert "⚪ *Onboarding Bootcamp — Cohort 12*" in lines
    assert "No state · date unknown" in lines
    assert "❔ *AI for Marketers: Hands-on Lab*" in lines  # a state HubSpot may add later
    assert "Showing 1–10 of 23" in lines
    next_line = next(line for line in lines if line.startswith("[ Next page ]"))
    cursor = page.next_after
    assert (
        next_line == f"[ Next page ]  →  participations-bot preview --sample jane@example.com --after {cursor} --page 2"
    )
    assert lines[-1] == "(dates in your local time zone: UTC)"
    assert "&amp;" not in text
    assert "&lt;" not in text
    assert "<!date" not in text


def test_dates_follow_the_readers_time_zone() -> None:
    page, query = sample_page("jane@example.com")
    message = render_page(page, query, Translator("en"))
    text = render_terminal(message, tz=SAO_PAULO, now=NOW)
    assert "Attended · Apr 21, 2026 at 1:00 PM · 87% attended · 52m" in text
    assert "(dates in your local time zone: UTC-03:00)" in text
    assert "[ Next page ]  --after " in text  # without a command prefix: just the cursor to pass


def test_portuguese_rendering() -> None:
    page, query = sample_page("ana.lima@example.com")
    text = render_terminal(render_page(page, query, Translator("pt-BR")), tz=SAO_PAULO, now=NOW, language="pt-BR")
    assert "Participou · 8 de jul. de 2026 às 10:00 · 91% de presença · 55m" in text
    assert "Eventos de marketing · Ana <!channel> Lima" in text
    assert "Mostrando 1–3 de 3" in text
    assert "[ " not in text  # a single page has no Next button


@pytest.mark.parametrize(
    ("template", "language", "expected"),
    [
        ("{date_num} {time_secs}", "en", "2026-11-28 3:04:05 PM"),
        ("{date}", "en", "November 28th, 2026"),
        ("{date_long}", "en", "Saturday, November 28th, 2026"),
        ("{date_short_pretty} at {time}", "en", "Today at 3:04 PM"),
        ("{date_long} {time}", "pt-BR", "sábado, 28 de novembro de 2026 15:04"),
        ("{date_pretty}", "pt-BR", "Hoje"),
        ("{ago}", "en", "3 hours ago"),
        ("{ago}", "pt-BR", "há 3 horas"),
        ("{unknown} {date_short}", "en", "{unknown} Nov 28, 2026"),
    ],
)
def test_slack_date_tokens(template: str, language: str, expected: str) -> None:
    seconds = int(datetime(2026, 11, 28, 15, 4, 5, tzinfo=UTC).timestamp())
    now = datetime(2026, 11, 28, 18, 10, tzinfo=UTC)
    assert format_slack_date(seconds, template, tz=UTC, now=now, language=language) == expected


def test_pretty_dates_around_today() -> None:
    seconds = int(datetime(2026, 11, 27, 23, 30, tzinfo=UTC).timestamp())
    assert format_slack_date(seconds, "{date_short_pretty}", tz=UTC, now=NOW, language="en") == "Yesterday"
    # 23:30 UTC on the 27th is 20:30 in São Paulo: still yesterday; 02:30 UTC on the 29th is 23:30 on the 28th.
    tomorrow_utc = int(datetime(2026, 11, 29, 2, 30, tzinfo=UTC).timestamp())
    assert format_slack_date(tomorrow_utc, "{date_short_pretty}", tz=SAO_PAULO, now=NOW, language="en") == "Today"
    assert format_slack_date(tomorrow_utc, "{date_short_pretty}", tz=UTC, now=NOW, language="en") == "Tomorrow"


def test_control_sequences_and_links() -> None:
    text = "<https://app.hubspot.com/x|Jane &amp; Co> <@U1> <#C1|general> <!here> &amp;lt; <!date^bad^x|fallback>"
    assert mrkdwn_to_text(text, tz=UTC, now=NOW, language="en") == (
        "Jane & Co (https://app.hubspot.com/x) @U1 #general @here &lt; fallback"
    )


@given(st.text())
def test_escaped_data_reads_back_exactly(raw: str) -> None:
    """Whatever HubSpot sends, once escaped for Slack, the terminal shows what Slack shows (and never a token)."""
    assert mrkdwn_to_text(escape(raw), tz=UTC, now=NOW, language="en") == displayable(raw)


# -- the sample data and its loopback HubSpot ---------------------------------------------------------


def test_sample_covers_what_a_newcomer_should_see() -> None:
    data = load_sample()
    sizes = {identifier: len(records) for identifier, records in data.items()}
    assert sorted(set(sizes.values())) == [0, 2, 3, 4, 23, 150]
    records = [record for identifier, rows in data.items() if "@" in identifier for record in rows]
    states = Counter(record["properties"].get("attendanceState") for record in records)
    assert {*State.__members__, "EMPTY"} <= set(states)
    assert set(states) - {*State.__members__, "EMPTY"}, "an unknown (future) state"
    names = [str(record["associations"]["marketingEvent"].get("name")) for record in records]
    assert any(len(name) > 200 for name in names)
    contacts = [record["associations"]["contact"] for record in records]
    assert any("<!channel>" in name for name in names)
    assert any("<!channel>" in str(contact.get("firstname")) for contact in contacts)
    assert any("firstname" not in contact for contact in contacts)
    assert any("name" not in record["associations"]["marketingEvent"] for record in records)
    assert any("occurredAt" not in record["properties"] for record in records)
    assert any(record["properties"].get("attendancePercentage") is None for record in records)


def test_sample_server_behaves_like_hubspot() -> None:
    data = load_sample()
    path = "/marketing/v3/marketing-events/participations/contacts/{}/breakdown"
    auth = f"Bearer {SAMPLE_TOKEN}"
    assert answer(path.format("jane%40example.com"), {}, None, data)[0] == 401
    status, body = answer(path.format("nobody%40example.com"), {}, auth, data)
    assert (status, body["category"]) == (404, "OBJECT_NOT_FOUND")
    assert answer(path.format("101"), {"state": "WAITLISTED"}, auth, data)[0] == 400
    assert answer(path.format("101"), {"after": "not-a-cursor"}, auth, data)[0] == 400
    assert answer(path.format("103"), {}, auth, data) == (200, {"total": 0, "results": []})
    assert decode_cursor(encode_cursor(40)) == 40


def test_sample_pages_through_the_real_client() -> None:
    with SampleHubSpot() as sample:
        client = HubSpotClient(
            url_prefix=sample.url + "/marketing/v3/marketing-events/participations/contacts/",
            access_token=SAMPLE_TOKEN,
        )
        pages = list(client.iter_participations("events.fan@example.com"))
        ids = [p.participation_id for _, kept in pages for p in kept]
        assert len(pages) == 2
        assert len(ids) == len(set(ids)) == 150
        by_state = {state: client.breakdown("104", state=state, limit=1).total for state in State}
        assert 0 < sum(by_state.values()) < 150  # EMPTY records match no filter, as in HubSpot
        with pytest.raises(ContactNotFound):
            client.breakdown("nobody@example.com")
        with pytest.raises(BadRequest):
            client.breakdown("101", after="garbage")
        wrong = HubSpotClient(url_prefix=client.breakdown_url("x").rsplit("x/", 1)[0], access_token="nope")
        with pytest.raises(AuthenticationFailed):
            wrong.breakdown("101")


# -- the command, in process --------------------------------------------------------------------------


def test_json_is_the_block_kit_payload_and_pages_with_after(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = preview(capsys, "--sample", "jane@example.com", "--json")
    assert code == 0
    assert err == ""
    message = json.loads(out)
    assert set(message) == {"text", "blocks"}
    for block in message["blocks"]:
        Block.parse(block).to_dict()  # type: ignore[union-attr]  # raises on Slack limit violations
    button = find_button(message["blocks"])
    assert button is not None
    assert button["action_id"] == NEXT_ACTION_ID
    following = decode_query(button["value"])
    assert following.page == 2
    assert following.after

    code, out, _ = preview(
        capsys, "--sample", "jane@example.com", "--after", following.after or "", "--page", "2", "--json"
    )
    second = json.loads(out)
    assert code == 0
    assert "Showing 11–20 of 23" in json.dumps(second, ensure_ascii=False)

    code, out, _ = preview(capsys, "--sample", "jane@example.com", "--after", "c2FtcGxlOjIw", "--page", "3")
    assert code == 0
    assert "Showing 21–23 of 23" in out
    assert "[ Next page ]" not in out


def test_a_full_page_of_100_fits_slack(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = preview(capsys, "--sample", "104", "--limit", "100", "--json")
    message = json.loads(out)
    assert code == 0
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).to_dict()  # type: ignore[union-attr]


def test_state_alias_language_and_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = preview(capsys, "--sample", "events.fan@example.com", "No-Show", "--limit", "3", "--lang", "pt-br")
    assert code == 0
    assert out.startswith("Eventos (Não compareceu) · events.fan@example.com\n")
    assert (
        "[ Próxima página ]  →  participations-bot preview --sample --lang pt-BR events.fan@example.com no_show" in out
    )
    assert "--limit 3 --after " in out


def test_language_defaults_to_the_bot_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = preview(capsys, "--sample", "101", environ={"BOT_DEFAULT_LANGUAGE": "pt-BR"})
    assert code == 0
    assert out.startswith("Eventos de marketing · Jane Doe")


def test_no_participations_is_the_bots_empty_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = preview(capsys, "--sample", "new.lead@example.com")
    assert (code, out, err) == (0, "No participations found for new.lead@example.com.\n", "")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--sample", "nobody@example.com"], 1, "No HubSpot contact found for nobody@example.com."),
        (["--sample", "not-an-email@"], 2, "`not-an-email@` is not an email address or a HubSpot contact id"),
        (["--sample", "101", "maybe"], 2, "I don't know the state `maybe`."),
        (["--sample", "101", "--after", "garbage"], 1, "HubSpot rejected the request: Invalid paging cursor"),
        (["jane@example.com"], 2, "HUBSPOT_ACCESS_TOKEN is not set"),
    ],
)
def test_failures_are_one_clear_line(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    result, out, err = preview(capsys, *args)
    assert result == code
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("participations-bot preview: ")
    assert message in err


def test_unknown_sample_contact_lists_the_sample_contacts(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = preview(capsys, "--sample", "nobody@example.com")
    assert "jane@example.com (23)" in err
    assert "events.fan@example.com (150)" in err


def test_bad_limit_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["preview", "--sample", "101", "--limit", "0"], environ={})
    assert exit_info.value.code == 2
    assert "must be a whole number from 1 to 100" in capsys.readouterr().err


def test_real_hubspot_path_uses_the_configured_client(
    capsys: pytest.CaptureFixture[str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(i, name=f"Event {i}") for i in range(12)], "jane@example.com", "101")
    environ = {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN, "HUBSPOT_API_BASE": fake_hubspot.url, "HUBSPOT_PORTAL_ID": "42"}

    code, out, _ = preview(capsys, "jane@example.com", "attended", "--limit", "5", environ=environ)

    assert code == 0
    assert out.startswith("Attended events · Jane Doe\n")
    assert "*Jane Doe (https://app.hubspot.com/contacts/42/record/0-1/101)* · jane@example.com" in out
    assert "--after " in out
    assert " --page 2" in out
    assert fake_hubspot.calls[-1].query == {"limit": "5", "state": "ATTENDED"}

    code, _, err = preview(capsys, "jane@example.com", environ={**environ, "HUBSPOT_ACCESS_TOKEN": "wrong"})
    assert code == 1
    assert "HubSpot rejected the bot's access token" in err
    assert "corr-401" in err


# -- a name instead of an email ------------------------------------------------------------------------------


def test_a_name_with_one_sample_match_shows_its_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = preview(capsys, "--sample", "Jane Doe")
    assert (code, err) == (0, "")
    assert out.startswith("Marketing events · Jane Doe\n")
    assert "23 participation records · HubSpot contact 101" in out
    # unquoted, `Doe` lands in the state's place; as in Slack, a word that is no state belongs to the name
    assert preview(capsys, "--sample", "jane", "doe")[1] == out


def test_a_name_with_several_sample_matches_prints_the_choice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = preview(capsys, "--sample", "silva", "attended", "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2 contacts match *silva*. Which one?"
    assert "maria.silva@example.com · Acme Ltda" in lines and "joao.silva@example.com · Globex" in lines
    command = "[ Show participations ]  →  participations-bot preview --sample 105 attended --limit 5"
    assert command in lines
    # the printed command shows what the button would post
    chosen = shlex.split(command.split("→")[1])[2:]  # after `participations-bot preview`
    code, page, _ = preview(capsys, *chosen)
    assert code == 0 and page.startswith("Attended events · Maria Silva\n")


def test_a_name_nobody_has_is_one_line_with_the_sample_contacts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = preview(capsys, "--sample", "Zed Nobody")
    assert (code, out) == (1, "")
    assert "No HubSpot contact matches *Zed Nobody*" in err and "maria.silva@example.com (4)" in err


def test_the_real_search_path_and_its_missing_scope(
    capsys: pytest.CaptureFixture[str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_searchable("101", "jane@example.com", "Jane", "Doe", None)
    fake_hubspot.add_contact([participation(i) for i in range(3)], "101")
    environ = {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN, "HUBSPOT_API_BASE": fake_hubspot.url}
    code, out, _ = preview(capsys, "Jane Doe", environ=environ)
    assert code == 0 and out.startswith("Marketing events · Jane Doe\n")
    assert fake_hubspot.search_calls()[0].body["query"] == "Jane Doe"
    fake_hubspot.search_forbidden = True
    code, _, err = preview(capsys, "Jane Doe", environ=environ)
    assert code == 1 and "crm.objects.contacts.read" in err and "still work" in err


def test_sample_search_behaves_like_hubspot() -> None:
    directory = load_directory()
    bearer = f"Bearer {SAMPLE_TOKEN}"
    assert search({"query": "silva", "limit": 5}, None, directory)[0] == 401
    assert search({"limit": 5}, bearer, directory)[0] == 400
    status, body = search({"query": "SIL", "properties": ["email"], "limit": 1}, bearer, directory)
    assert status == 200 and body["total"] == 2 and len(body["results"]) == 1
    assert body["results"][0]["properties"] == {"email": "maria.silva@example.com"}
    assert search({"query": "ana", "limit": 5}, bearer, directory)[1]["total"] == 1  # Ana <!channel> Lima
    assert search({"query": "lead", "limit": 5}, bearer, directory)[1]["results"][0]["id"] == "103"


# -- the Quick start, as a newcomer runs it -----------------------------------------------------------


def run_cli(args: list[str], cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """A clean environment: no project variables, no .env in the working directory."""
    environment = {"PATH": os.environ.get("PATH", ""), **extra_env}
    return subprocess.run(
        args, env=environment, cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False
    )


def test_quick_start_preview_in_a_clean_environment(tmp_path: Path) -> None:
    result = run_cli([sys.executable, "-m", "bot", "preview", "--sample", "jane@example.com"], tmp_path, TZ="UTC")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Marketing events · Jane Doe\n")
    assert "Attended · Apr 21, 2026 at 4:00 PM · 87% attended · 52m" in result.stdout
    assert "[ Next page ]  →  participations-bot preview --sample jane@example.com --after " in result.stdout

    as_json = run_cli([sys.executable, "-m", "bot", "preview", "--sample", "jane@example.com", "--json"], tmp_path)
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["blocks"][0]["type"] == "header"


def test_dates_use_the_machines_time_zone(tmp_path: Path) -> None:
    # POSIX TZ syntax (no tz database needed): three hours west of UTC, like São Paulo.
    result = run_cli([sys.executable, "-m", "bot", "preview", "--sample", "101"], tmp_path, TZ="BRT+3")
    assert result.returncode == 0, result.stderr
    assert "Attended · Apr 21, 2026 at 1:00 PM" in result.stdout
    assert "(dates in your local time zone: BRT (UTC-03:00))" in result.stdout


def test_installed_console_script(tmp_path: Path) -> None:
    script = shutil.which("participations-bot", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("participations-bot is not installed next to this interpreter")
    result = run_cli([script, "preview", "--sample", "jane@example.com"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Marketing events · Jane Doe" in result.stdout
