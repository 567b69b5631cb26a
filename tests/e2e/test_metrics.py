"""`GET /metrics`: Prometheus text from the real `serve` process, one count for the whole server, nothing private."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from bot.config import Settings
from bot.metrics import Metrics, hubspot_status_label, metrics_endpoint, outcome_label, slack_error_label
from tests.conftest import Bot
from tests.support.flows import click, run_command
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.processes import ROOT, clean_env, run_bot, serving
from tests.support.scraping import METRICS_TOKEN, Samples, parse, scrape, scrape_until, value
from tests.support.slack import FakeSlack, SlackSender, command_fields, find_button
from tests.support.socket_mode import APP_TOKEN, FakeSocketMode, running_socket_bot
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET
from tests.support.waiting import free_port, wait_until


@pytest.fixture
def served_with_token(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[str]:
    with serving(fake_hubspot, fake_slack, tmp_path, METRICS_TOKEN=METRICS_TOKEN) as served:
        yield served.url


def test_a_scrape_of_serve_counts_commands_clicks_hubspot_and_slack_with_no_private_value(
    served_with_token: str, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    url = served_with_token
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com", "90210417")
    # The first HubSpot request meets a 429 (then the retry succeeds); the first users.info fails.
    fake_hubspot.script(
        Scripted(429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, {"Retry-After": "0.2"})
    )
    fake_slack.fail_api("users.info", "user_not_found")
    sender = SlackSender(url + "/slack/events", SIGNING_SECRET, fake_slack)

    _, first = sender.command("jane@example.com", user="U7JANE", channel="C7SECRET")
    page = fake_slack.wait_for(lambda: fake_slack.responses(first), timeout=15)[0]
    _, second = sender.command("90210417 attended")
    _, unknown = sender.command("nobody@example.com")
    fake_slack.response_status["helpname"] = 404  # Slack refuses this response_url ("invalid")
    sender.command("help", response_name="helpname")
    for name in (second, unknown, "helpname"):
        fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=15)

    button = find_button(page["blocks"])
    assert button is not None
    message = {"text": page["text"], "blocks": page["blocks"]}
    _, clicked = sender.click(button["value"], message=message)
    fake_slack.wait_for(lambda: fake_slack.responses(clicked), timeout=15)  # the button retired
    _, again = sender.click(button["value"], message=message)  # a stale copy of the same button
    fake_slack.wait_for(lambda: fake_slack.responses(again), timeout=15)

    assert requests.get(url + "/metrics", timeout=5).status_code == 401
    wrong = requests.get(url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401 and METRICS_TOKEN not in wrong.text
    # An answer's count and its lookup time are recorded one after the other: wait for the last of them.
    samples = scrape_until(
        url,
        lambda s: (
            value(s, "participations_clicks_total", button="next", outcome="duplicate") == 1
            and value(s, "participations_lookup_seconds_count", kind="click") == 2
            and value(s, "participations_lookup_seconds_count", kind="command") == 4
        ),
    )

    commands = "participations_commands_total"
    assert value(samples, commands, outcome="ok") == 2
    assert value(samples, commands, outcome="not_found") == 1
    assert value(samples, commands, outcome="help") == 1
    assert value(samples, "participations_clicks_total", button="next", outcome="ok") == 1
    assert value(samples, "participations_clicks_total", button="next", outcome="duplicate") == 1
    assert value(samples, "participations_ack_seconds_count", kind="command") == 4
    assert value(samples, "participations_ack_seconds_count", kind="click") == 2
    assert value(samples, "participations_ack_seconds_bucket", kind="command", le="3.0") == 4  # all within Slack's 3 s
    assert value(samples, "participations_lookup_seconds_count", kind="command") == 4
    assert value(samples, "participations_lookup_seconds_count", kind="click") == 2
    assert value(samples, "participations_lookup_seconds_sum", kind="command") >= 0.2  # the 429's wait is in it
    hubspot = "participations_hubspot_requests_total"
    assert value(samples, hubspot, endpoint="breakdown", status="429") == 1
    assert value(samples, hubspot, endpoint="breakdown", status="200") == 3  # two commands, one Next page
    assert value(samples, hubspot, endpoint="breakdown", status="404") == 1
    assert value(samples, "participations_hubspot_rate_limit_wait_seconds_total") >= 0.2
    slack = "participations_slack_errors_total"
    assert value(samples, slack, method="users.info", error="user_not_found") == 1
    assert value(samples, slack, method="response_url", error="invalid") == 1
    assert value(samples, "participations_lookups_in_flight") == 0
    assert not any(name == "participations_redis_up" for name, _ in samples)  # no REDIS_URL, no series

    text = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5).text
    # Names, labels and help texts; not the sample values, whose digits could contain anything.
    exposed = "\n".join(line if line.startswith("#") else line.rsplit(" ", 1)[0] for line in text.splitlines())
    private = ("jane", "nobody", "example.com", "@", "90210417", "U7JANE", "C7SECRET", "127.0.0.1", "http:")
    secrets = (METRICS_TOKEN, BOT_TOKEN, SIGNING_SECRET, HUBSPOT_TOKEN)
    for needle in (*private, *secrets):
        assert needle not in exposed


def test_without_a_token_metrics_are_open(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path) -> None:
    with serving(fake_hubspot, fake_slack, tmp_path) as served:
        samples = scrape(served.url, token=None)
        assert requests.head(served.url + "/metrics", timeout=5).status_code == 200
        assert requests.post(served.url + "/metrics", timeout=5).status_code == 405
    assert value(samples, "participations_lookups_in_flight") == 0
    assert value(samples, "participations_ack_seconds_count", kind="command") == 0
    assert ("participations_commands_total", frozenset()) not in samples  # labelled series appear once counted


def test_socket_mode_serves_metrics_and_healthz_on_its_metrics_port(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    options = ("--metrics-port", str(port), "--metrics-host", "127.0.0.1")
    socket_mode = FakeSocketMode().start()
    try:
        with running_socket_bot(
            fake_hubspot, fake_slack, socket_mode, tmp_path, *options, METRICS_TOKEN=METRICS_TOKEN
        ) as bot:
            url = f"http://127.0.0.1:{port}"
            assert requests.get(url + "/healthz", timeout=5).text == "ok\n"
            assert requests.get(url + "/metrics", timeout=5).status_code == 401
            assert requests.get(url + "/slack/events", timeout=5).status_code == 404
            envelope = socket_mode.push_slash_command(command_fields("jane@example.com", fake_slack.response_url("sm")))
            socket_mode.wait_for_ack(envelope, timeout=3)
            fake_slack.wait_for(lambda: fake_slack.responses("sm"), timeout=10)
            samples = scrape_until(  # the count, then the lookup time, are recorded once the answer is posted
                url,
                lambda s: (
                    value(s, "participations_commands_total", outcome="ok") == 1
                    and value(s, "participations_lookup_seconds_count", kind="command") == 1
                ),
            )
            assert value(samples, "participations_commands_total", outcome="ok") == 1
            assert value(samples, "participations_ack_seconds_count", kind="command") == 1
            assert value(samples, "participations_lookup_seconds_count", kind="command") == 1
            assert APP_TOKEN not in bot.output() and METRICS_TOKEN not in bot.output()
    finally:
        socket_mode.stop()


def test_a_metrics_port_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_bot(
            "socket", "--metrics-port", port, "--metrics-host", "127.0.0.1", cwd=tmp_path, env=env, timeout=30
        )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"participations-bot: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )


# -- multiprocess mode: several workers, one count -----------------------------------------------------------

# `serve` with three gunicorn workers (it runs one today; WEB_CONCURRENCY will choose): the metrics must not care.
THREE_WORKERS = textwrap.dedent(
    """
    import sys
    from bot.serve import gunicorn as server

    configure = server.GunicornServer.load_config

    def load_config(self):
        configure(self)
        self.cfg.set("workers", 3)

    server.GunicornServer.load_config = load_config
    from bot.cli import main

    sys.exit(main(["serve", "--host", "127.0.0.1", "--port", sys.argv[1]]))
    """
)


def test_three_gunicorn_workers_show_one_count_on_every_scrape(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    with serving(fake_hubspot, fake_slack, tmp_path, command=["-c", THREE_WORKERS]) as served:
        url, process = served.url, served.process
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        workers = wait_until(lambda: len(children.read_text().split()) == 3 and children.read_text().split())
        # The master's own directory (a worker's file names carry its pid).
        pattern = f"participations-metrics-*/gauge_livesum_{workers[0]}.db"
        # A worker writes its file once it has built its app: a listed process may still be booting.
        found = wait_until(lambda: list(Path(tempfile.gettempdir()).glob(pattern)))
        assert len(found) == 1
        directory = found[0].parent
        assert (directory / f"gauge_livesum_{workers[0]}.db").exists()
        sender = SlackSender(url + "/slack/events", SIGNING_SECRET, fake_slack)
        fake_hubspot.latency = 2.5  # long enough to scrape while all three wait, even on a busy machine
        names = []
        for _ in range(3):
            sender.session = requests.Session()  # a new connection each time: any worker may take it
            names.append(sender.command("jane@example.com")[1])
        fake_hubspot.wait_for(lambda: len(fake_hubspot.calls) == 3, timeout=10)
        # Three lookups in flight, wherever they run, whichever worker answers the scrape.
        assert value(scrape(url, token=None), "participations_lookups_in_flight") == 3
        for name in names:
            fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=15)
        fake_hubspot.latency = 0.0
        for _ in range(3):
            sender.session = requests.Session()
            names.append(sender.command("jane@example.com")[1])
        for name in names:
            fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=15)
        # The command is counted just before its lookup leaves the in-flight gauge (a log line apart): wait for both.
        settled = scrape_until(
            url,
            lambda s: (
                value(s, "participations_commands_total", outcome="ok") == 6
                and value(s, "participations_lookups_in_flight") == 0
            ),
        )
        assert value(settled, "participations_lookups_in_flight") == 0
        for _ in range(12):  # fresh connections: the scrapes land on different workers
            samples = scrape(url, token=None)
            assert value(samples, "participations_commands_total", outcome="ok") == 6
            assert value(samples, "participations_ack_seconds_count", kind="command") == 6
            assert value(samples, "participations_hubspot_requests_total", endpoint="breakdown", status="200") == 6

        # A worker killed outright: gunicorn's child_exit drops its live gauges, its counts stay.
        os.kill(int(workers[0]), signal.SIGKILL)
        wait_until(lambda: not (directory / f"gauge_livesum_{workers[0]}.db").exists())
        assert value(scrape(url, token=None), "participations_commands_total", outcome="ok") == 6
    assert not directory.exists()  # serve removes its directory at exit


WORKER = textwrap.dedent(
    """
    import json, sys
    from bot.metrics import Metrics

    metrics = Metrics(multiprocess_dir=sys.argv[1])
    plan = json.loads(sys.argv[2])
    for _ in range(plan["ok"]):
        metrics.command("ok")
    metrics.click("next", "ContactNotFound")
    metrics.hubspot_request("breakdown", 200)
    for _ in range(plan["in_flight"]):
        metrics.acked("command")  # acked, never answered
    metrics.set_redis_up(plan["redis_up"])
    if plan["render"]:
        sys.stdout.write(metrics.render().decode())
    """
)


def run_worker(directory: Path, **plan: Any) -> subprocess.CompletedProcess[str]:
    """A separate process, as a gunicorn worker is, writing into the shared multiprocess directory."""
    plan.setdefault("render", False)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    return subprocess.run(
        [sys.executable, "-c", WORKER, str(directory), json.dumps(plan)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )


def read_directory(directory: Path) -> Samples:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return parse(generate_latest(registry).decode())


def test_workers_add_up_and_a_dead_workers_live_gauges_leave_the_total(tmp_path: Path) -> None:
    first = run_worker(tmp_path, ok=2, in_flight=1, redis_up=False)
    pid_of_first = int(next(p.stem.rsplit("_", 1)[1] for p in tmp_path.glob("gauge_livesum_*.db")))
    second = run_worker(tmp_path, ok=3, in_flight=2, redis_up=True, render=True)
    assert first.returncode == second.returncode == 0

    # Whichever worker renders, it shows every worker's counts.
    for samples in (parse(second.stdout), read_directory(tmp_path)):
        assert value(samples, "participations_commands_total", outcome="ok") == 5
        assert value(samples, "participations_clicks_total", button="next", outcome="not_found") == 2
        assert value(samples, "participations_hubspot_requests_total", endpoint="breakdown", status="200") == 2
        assert value(samples, "participations_lookups_in_flight") == 3
        assert value(samples, "participations_redis_up") == 0  # one worker on its fallback is enough to say so

    # gunicorn's child_exit hook: the worker that died no longer adds to live gauges; its counts stay.
    mark_process_dead(pid_of_first, str(tmp_path))  # type: ignore[no-untyped-call]
    samples = read_directory(tmp_path)
    assert value(samples, "participations_lookups_in_flight") == 2
    assert value(samples, "participations_redis_up") == 1
    assert value(samples, "participations_commands_total", outcome="ok") == 5


# -- the pieces, in this process -------------------------------------------------------------------------------


def test_label_values_stay_bounded() -> None:
    assert outcome_label("ContactNotFound") == "not_found"
    assert outcome_label("DailyLimitReached") == "rate_limited"
    assert outcome_label("bad_input") == "invalid"
    assert outcome_label("slack_not_in_channel") == "slack_error"
    assert outcome_label("jane@example.com") == "other"
    assert slack_error_label("not_in_channel") == "not_in_channel"
    for hostile in ("jane@example.com", "https://hooks.slack.com/x", "<html>", "A" * 10, "x" * 41, ""):
        assert slack_error_label(hostile) == "other"
    assert hubspot_status_label(429) == "429"
    assert hubspot_status_label("timeout") == "timeout"
    assert hubspot_status_label(1234) == hubspot_status_label("101") == "other"


def test_each_metrics_object_counts_alone_and_redis_up_appears_only_once_reported() -> None:
    one, two = Metrics(), Metrics()
    one.command("ok")
    assert value(parse(one.render().decode()), "participations_commands_total", outcome="ok") == 1
    assert value(parse(two.render().decode()), "participations_commands_total", outcome="ok") == 0
    assert b"participations_redis_up" not in one.render()
    one.set_redis_up(False)
    assert value(parse(one.render().decode()), "participations_redis_up") == 0
    one.set_redis_up(True)
    assert value(parse(one.render().decode()), "participations_redis_up") == 1


def test_the_token_is_compared_whole() -> None:
    endpoint = metrics_endpoint(Metrics(), "s3cret")
    statuses: list[str] = []

    def get(authorization: str | None) -> str:
        environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
        if authorization is not None:
            environ["HTTP_AUTHORIZATION"] = authorization
        body = b"".join(endpoint(environ, lambda status, headers: statuses.append(status)))
        assert b"s3cret" not in body or statuses[-1].startswith("200")
        return statuses[-1]

    assert get("Bearer s3cret").startswith("200")
    for refused in (None, "", "Bearer s3cre", "Bearer s3cret2", "bearer s3cret", "s3cret", "Basic s3cret", "Bearer é"):
        assert get(refused).startswith("401"), refused


def test_hubspot_failures_rate_limit_waits_and_slack_refusals_are_counted_by_kind(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    metrics = Metrics()
    bot = make_bot(settings, metrics=metrics)  # the HubSpot client's metrics become the app's (virtual time)
    assert bot.app.runtime.metrics is metrics
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com")
    too_many = {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}
    fake_hubspot.script(Scripted(drop=True), Scripted(429, too_many, {"Retry-After": "3"}))
    page = run_command(bot, fake_slack, "jane@example.com")  # dropped, 429, then the page

    fake_slack.fail_api("chat.postMessage", "not_in_channel")  # the page goes through the response_url instead
    name, _button = click(bot, fake_slack, page, "participations_next")
    fake_slack.wait_for(lambda: [r for r in fake_slack.responses(name) if r.get("thread_ts")])

    def scraped() -> Samples:
        return parse(metrics.render().decode())

    wait_until(lambda: value(scraped(), "participations_clicks_total", button="next", outcome="ok") == 1)
    samples = scraped()
    hubspot = "participations_hubspot_requests_total"
    assert value(samples, hubspot, endpoint="breakdown", status="connection_error") == 1
    assert value(samples, hubspot, endpoint="breakdown", status="429") == 1
    assert value(samples, hubspot, endpoint="breakdown", status="200") == 2
    assert value(samples, "participations_hubspot_rate_limit_wait_seconds_total") == pytest.approx(3.0, abs=0.01)
    assert value(samples, "participations_slack_errors_total", method="chat.postMessage", error="not_in_channel") == 1
    assert value(samples, "participations_commands_total", outcome="ok") == 1
    wait_until(lambda: value(scraped(), "participations_lookups_in_flight") == 0)
