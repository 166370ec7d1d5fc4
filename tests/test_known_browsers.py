"""The known-browser cookie: genuine, fresh and for one identity, or nothing."""

from __future__ import annotations

from gondulf.services.signin.known_browsers import KNOWN_FOR, known_browser_value, known_identity

KEY = "k" * 40
ME = "https://jane.example/"


def test_a_genuine_value_names_its_identity() -> None:
    assert known_identity(KEY, known_browser_value(KEY, ME, now=1000), now=2000) == ME


def test_a_value_signed_with_another_key_or_changed_is_nothing() -> None:
    value = known_browser_value(KEY, ME, now=1000)
    assert known_identity("x" * 40, value, now=2000) is None
    encoded, issued, mac = value.split(".")
    other = known_browser_value(KEY, "https://mallory.example/", now=1000).split(".")[0]
    assert known_identity(KEY, f"{other}.{issued}.{mac}", now=2000) is None
    assert known_identity(KEY, f"{encoded}.{int(issued) + 1}.{mac}", now=2000) is None


def test_an_old_or_garbled_value_is_nothing() -> None:
    value = known_browser_value(KEY, ME, now=1000)
    assert known_identity(KEY, value, now=1000 + KNOWN_FOR) is None
    for garbled in ("", "a.b", "a.b.c.d", "!!!.1.x", value + "x"):
        assert known_identity(KEY, garbled, now=2000) is None
