"""Secrets and handles: sizes, alphabets, digests."""

from __future__ import annotations

import re

from gondulf.services.digests import keyed_digest, new_code, new_id, new_secret, token_digest


def test_ids_are_hex_so_they_never_look_like_a_command_line_option() -> None:
    # A token ID starting with "-" was once read by the CLI as an option.
    assert all(re.fullmatch(r"[0-9a-f]{16}", new_id()) for _ in range(2000))


def test_secrets_carry_256_bits() -> None:
    assert len({new_secret() for _ in range(100)}) == 100
    assert all(len(new_secret()) == 43 for _ in range(100))


def test_codes_are_six_digits() -> None:
    assert all(re.fullmatch(r"\d{6}", new_code()) for _ in range(2000))


def test_code_digest_depends_on_the_key() -> None:
    assert keyed_digest("k1", "123456") != keyed_digest("k2", "123456")
    assert keyed_digest("k1", "123456") != token_digest("123456")
