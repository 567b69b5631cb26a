"""Buttons that read every record of a contact (Summary, Export CSV): 100 per request up to
`MAX_EXPORT_RECORDS`, through the client's usual retries and pacing, then hand the records to the button's work.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.buttons import decode_contact_query
from bot.domain.queries import ContactQuery, PageQuery
from bot.domain.summary import Gathered, gather
from bot.listeners._shared.clicks import ButtonHandler, Click
from bot.listeners._shared.lifecycle import NotDelivered
from bot.render.blocks import EPHEMERAL
from bot.render.page import render_empty
from bot.runtime import Runtime

Deliver = Callable[[Click, ContactQuery, Gathered], None]


def fetch_all(runtime: Runtime, query: ContactQuery) -> Gathered:
    cap = runtime.settings.max_export_records
    return gather(runtime.hubspot.iter_participations(query.identifier, state=query.state, cap=cap), cap)


def contact_button(
    runtime: Runtime,
    *,
    kind: str,
    action_id: str,
    already_key: str,
    deliver: Deliver,
    not_here_key: str | None = None,
) -> ButtonHandler[ContactQuery]:
    """`not_here_key`: the button only works under a channel message (say so before reading anything)."""

    def work(click: Click, query: ContactQuery) -> None:
        if not_here_key is not None and not click.in_thread:
            raise NotDelivered("not_here", {"text": click.tr(not_here_key), **EPHEMERAL})
        gathered = fetch_all(runtime, query)
        if not gathered.records:
            empty = render_empty(PageQuery(identifier=query.identifier, state=query.state), click.tr)
            raise NotDelivered("empty", {**empty, **EPHEMERAL})
        deliver(click, query, gathered)

    return ButtonHandler(
        kind=kind,
        decode=decode_contact_query,
        claim_key=lambda click, _query: (click.channel, click.message_ts, action_id),
        already_key=already_key,
        work=work,
        describe=lambda query: (query.identifier, query.state.value if query.state else None, None),
    )
