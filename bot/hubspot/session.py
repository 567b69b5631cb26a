"""What an HTTP session to HubSpot needs besides requests: proxy settings read once, numbers in headers."""

from __future__ import annotations

from collections.abc import Mapping

import requests


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def settle_proxies(session: requests.Session, url: str) -> None:
    """Read proxy settings (HTTPS_PROXY, NO_PROXY…) once, for the one host this session talks to.

    By default requests re-reads the whole environment on every request to find proxies, which was a third of
    the CPU a lookup cost; the settings do not change while the bot runs. (This also stops ~/.netrc from
    silently replacing our Authorization header.)
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.trust_env = False
