"""The redirect back to the client (IndieAuth §5.2.1, RFC 6749 §4.1.2, RFC 9207)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def add_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query, keeping the parameters it already has."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
