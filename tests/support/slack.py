"""A loopback stand-in for Slack's Web API and response URLs, and what Slack sends: signed commands, clicks,
shortcuts; helpers to read the messages the bot posted."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from slack_sdk.models.blocks import Block

from bot.render.blocks import MAX_BLOCKS
from tests.support.loopback import LoopbackHandler, LoopbackServer


@dataclass
class SlackPost:
    """Something the bot sent to Slack: a Web API call or a response_url post."""

    kind: str  # "api" or "response_url"
    name: str  # API method or response id
    body: dict[str, Any]
    # Timing inside the fake (time.monotonic), for benchmarks: handler entry and answer written.
    started: float = 0.0
    finished: float = 0.0
    # The request's Authorization header (Web API calls), to check which token the bot used.
    authorization: str | None = None


class FakeSlack(LoopbackServer):
    """Slack's Web API (`/api/<method>`) and response URLs (`/response/<id>`) on loopback."""

    def __init__(self) -> None:
        self.handler = _SlackHandler
        super().__init__()
        self.posts: list[SlackPost] = []
        self.api_errors: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.response_status: dict[str, int] = {}
        # One-off answers for a response URL, used before `response_status`: (status, headers).
        self.response_faults: dict[str, deque[tuple[int, dict[str, str]]]] = {}
        self.locales: dict[str, str] = {}
        # Seconds a Web API method takes to answer (e.g. a slow users.info).
        self.api_delay: dict[str, float] = {}
        self.uploads: dict[str, bytes] = {}
        self._ts = 1_790_000_000
        # Socket Mode: `apps.connections.open` hands out `socket_url` to a caller bearing `app_token`.
        self.socket_url: str | None = None
        self.app_token = "xapp-1-A1-test"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str | None = None) -> str:
        return f"{self.url}/response/{name or uuid.uuid4().hex[:8]}"

    def fail_api(self, method: str, error: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = {"ok": False, "error": error}
        self.api_errors.setdefault(method, deque()).append((status, body, headers or {}))

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p.body for p in self.posts if p.kind == "api" and p.name == method]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [p.body for p in self.posts if p.kind == "response_url" and (name is None or p.name == name)]

    def next_ts(self) -> str:
        with self.lock:
            self._ts += 1
            return f"{self._ts}.000100"

    def connections_open(self, authorization: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        """`apps.connections.open`: only the app-level token opens a Socket Mode connection."""
        with self.lock:
            queue = self.api_errors.get("apps.connections.open")
            if queue:
                return queue.popleft()
        token = (authorization or "").removeprefix("Bearer ")
        if not token.startswith("xapp-"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        if token != self.app_token or self.socket_url is None:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        return 200, {"ok": True, "url": self.socket_url}, {}

    def api_answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            queue = self.api_errors.get(method)
            if queue:
                return queue.popleft()
        if method == "auth.test":
            return 200, {"ok": True, "user": "participations", "team": "Acme", "user_id": "UBOT", "team_id": "T1"}, {}
        if method == "users.info":
            user = str(body.get("user", ""))
            info: dict[str, Any] = {"id": user}
            if user in self.locales:
                info["locale"] = self.locales[user]
            return 200, {"ok": True, "user": info}, {}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": body.get("channel"), "ts": self.next_ts()}, {}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:8].upper()
            return 200, {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}, {}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            return 200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files or []]}, {}
        return 200, {"ok": True}, {}


class _SlackHandler(LoopbackHandler):
    def do_POST(self) -> None:
        started = time.monotonic()
        owner: FakeSlack = self.server.owner
        path = urlsplit(self.path).path
        raw = self._body()
        content_type = self.headers.get("Content-Type", "")
        if path.startswith("/upload/"):
            with owner.lock:
                owner.uploads[path.rsplit("/", 1)[1]] = raw
                owner.posts.append(SlackPost("upload", path.rsplit("/", 1)[1], {"size": len(raw)}))
                owner.lock.notify_all()
            self._send(200, "OK - uploaded", {"Content-Type": "text/plain"})
            return
        if "application/json" in content_type:
            body = json.loads(raw or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            authorization = self.headers.get("Authorization")
            if method == "apps.connections.open":
                status, answer, headers = owner.connections_open(authorization)
            else:
                status, answer, headers = owner.api_answer(method, body)
            if owner.api_delay.get(method):
                time.sleep(owner.api_delay[method])
            post = SlackPost("api", method, body, started=started, authorization=authorization)
            with owner.lock:
                owner.posts.append(post)
                owner.lock.notify_all()
            self._send(status, json.dumps(answer), headers)
            post.finished = time.monotonic()
        elif path.startswith("/response/"):
            name = path[len("/response/") :]
            extra: dict[str, str] = {}
            post = SlackPost("response_url", name, body, started=started)
            with owner.lock:
                faults = owner.response_faults.get(name)
                if faults:
                    status, extra = faults.popleft()
                else:
                    status = owner.response_status.get(name, 200)
                owner.posts.append(post)
                owner.lock.notify_all()
            self._send(status, "ok" if status == 200 else "invalid", {"Content-Type": "text/plain", **extra})
            post.finished = time.monotonic()
        else:
            self._send(404, json.dumps({"ok": False, "error": "unknown_method"}))

    do_GET = do_POST


# -- Signed requests -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Sends what Slack sends: form-encoded, `v0`-signed slash commands and block_actions payloads."""

    def __init__(self, events_url: str, secret: str, fake_slack: FakeSlack) -> None:
        self.events_url = events_url
        self.secret = secret
        self.fake_slack = fake_slack
        self.session = requests.Session()

    def post(
        self, body: str, *, secret: str | None = None, timestamp: int | None = None, signed: bool = True
    ) -> requests.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts}
        if signed:
            headers["X-Slack-Signature"] = sign(secret or self.secret, ts, body)
        return self.session.post(self.events_url, data=body.encode(), headers=headers, timeout=10)

    def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        team: str = "T1",
        response_name: str | None = None,
        **kwargs: Any,
    ) -> tuple[requests.Response, str]:
        name = response_name or uuid.uuid4().hex[:8]
        fields = command_fields(text, self.fake_slack.response_url(name), user=user, channel=channel, team=team)
        return self.post(urlencode(fields), **kwargs), name

    def click(
        self, value: str, *, message: dict[str, Any] | None, response_name: str | None = None, **kwargs: Any
    ) -> tuple[requests.Response, str]:
        """`kwargs`: those of `block_actions_payload`, then those of `post` (signing)."""
        name = response_name or uuid.uuid4().hex[:8]
        fields = {k: kwargs.pop(k) for k in list(kwargs) if k in _CLICK_FIELDS}
        payload = block_actions_payload(
            value, message=message, response_url=self.fake_slack.response_url(name), **fields
        )
        return self.post(urlencode({"payload": json.dumps(payload)}), **kwargs), name

    def shortcut(
        self, message: dict[str, Any] | None, *, response_name: str | None = None, **kwargs: Any
    ) -> tuple[requests.Response, str]:
        """A message shortcut used on `message`; `kwargs`: those of `message_action_payload`, then of `post`."""
        name = response_name or uuid.uuid4().hex[:8]
        fields = {k: kwargs.pop(k) for k in list(kwargs) if k in _SHORTCUT_FIELDS}
        payload = message_action_payload(message, response_url=self.fake_slack.response_url(name), **fields)
        return self.post(urlencode({"payload": json.dumps(payload)}), **kwargs), name


_SHORTCUT_FIELDS = frozenset({"user", "channel", "team", "callback_id"})


def interaction(
    kind: str, response_url: str, *, channel_name: str, user: str = "U1", channel: str = "C1", team: str = "T1"
) -> dict[str, Any]:
    """What every interactive payload (a click, a message shortcut) carries: who, where, and the response_url."""
    return {
        "type": kind,
        "token": "deprecated",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "channel": {"id": channel, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": None,
        "trigger_id": "1.2.3",
        "response_url": response_url,
    }


def message_action_payload(
    message: dict[str, Any] | None,
    *,
    response_url: str,
    callback_id: str = "participations_lookup",
    **who: str,
) -> dict[str, Any]:
    """A message shortcut as Slack sends it: the whole message (`text`, `user`, `ts`, `thread_ts` for a reply,
    `blocks` when it has them) and a response_url that answers ephemerally in the channel; `who` as for a click."""
    payload = interaction("message_action", response_url, channel_name="leads", **who)
    payload["action_ts"] = "1790000003.000300"
    payload["callback_id"] = callback_id
    if message is not None:
        payload["message_ts"] = message.get("ts")
        payload["message"] = {"type": "message", "user": "U9", **message}
    return payload


def command_fields(
    text: str, response_url: str, *, user: str = "U1", channel: str = "C1", team: str = "T1"
) -> dict[str, str]:
    """A slash command's fields as Slack sends them (form-encoded over HTTP, a JSON object in Socket Mode)."""
    return {
        "token": "deprecated",
        "team_id": team,
        "team_domain": "acme",
        "channel_id": channel,
        "channel_name": "marketing",
        "user_id": user,
        "user_name": "someone",
        "command": "/participations",
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


_CLICK_FIELDS = frozenset({"user", "channel", "team", "message_ts", "thread_ts", "is_ephemeral", "action_id"})


def block_actions_payload(
    value: str,
    *,
    message: dict[str, Any] | None,
    response_url: str,
    message_ts: str = "1790000001.000100",
    thread_ts: str | None = None,
    is_ephemeral: bool = False,
    action_id: str = "participations_next",
    **who: str,
) -> dict[str, Any]:
    """A button click as Slack sends it; `thread_ts` when the clicked message is a thread reply; `who`: `user`,
    `channel`, `team` (U1, C1, T1 unless given)."""
    payload = interaction("block_actions", response_url, channel_name="marketing", **who)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": payload["channel"]["id"],
        "is_ephemeral": is_ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    payload |= {
        "api_app_id": "A1",
        "container": container,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "participations_actions",
                "text": {"type": "plain_text", "text": "Next page"},
                "value": value,
                "type": "button",
                "action_ts": "1790000002.000200",
            }
        ],
        "state": {"values": {}},
    }
    if message is not None:
        payload["message"] = {**message, "ts": message_ts}
        if thread_ts:
            payload["message"]["thread_ts"] = thread_ts
    return payload


def find_button(blocks: Iterable[dict[str, Any]], action_id: str = "participations_next") -> dict[str, Any] | None:
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return dict(element)
    return None


def choice_buttons(blocks: Iterable[dict[str, Any]], action_id: str = "participations_choose") -> list[dict[str, Any]]:
    """The buttons beside sections (accessories) with `action_id`, in order: a choice among contacts."""
    return [
        dict(block["accessory"])
        for block in blocks
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("action_id") == action_id
    ]


def all_text(message: dict[str, Any]) -> str:
    """Every text a reader can see in a message, joined (for assertions)."""
    parts: list[str] = [str(message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)


def assert_valid_message(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert message["text"].strip()
    for block in blocks:
        assert Block.parse(block).to_dict()  # raises SlackObjectFormationError on a broken limit
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
            assert block["text"].get("verbatim") is True
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000


def mrkdwn_objects(node: Any) -> list[dict[str, Any]]:
    """Every mrkdwn text object anywhere in a message or its blocks, in order."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node)
        for value in node.values():
            found.extend(mrkdwn_objects(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(mrkdwn_objects(item))
    return found
