"""Who sent a request: forwarding headers are believed only from trusted proxies."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from gondulf.config.values import networks as parse_networks
from gondulf.services.rate_limits import address_key
from gondulf.web.client_address import Origin, request_origin

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, ::1")


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    headers = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), ()) == Origin(
        "127.0.0.1", False
    )


def test_an_untrusted_peer_cannot_name_a_client_or_claim_https() -> None:
    headers = {
        "X-Forwarded-For": "203.0.113.5",
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=203.0.113.6;proto=https",
    }
    assert request_origin("198.51.100.1", False, CIMultiDict(headers), PROXIES) == Origin(
        "198.51.100.1", False
    )


def test_a_trusted_proxy_names_the_client_and_the_scheme() -> None:
    headers = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES) == Origin(
        "203.0.113.5", True
    )


def test_addresses_a_client_put_in_front_of_the_chain_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real peer.
    headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.5, 10.1.2.3"}
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES).ip == "203.0.113.5"


def test_a_chain_of_only_proxies_ends_at_its_first_hop() -> None:
    headers = {"X-Forwarded-For": "10.0.0.2, 10.0.0.1"}
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES).ip == "10.0.0.2"


def test_a_garbage_hop_stops_the_walk_at_the_last_trusted_address() -> None:
    headers = {"X-Forwarded-For": "203.0.113.5, not-an-address, 10.0.0.1"}
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES).ip == "10.0.0.1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("for=203.0.113.5;proto=https", Origin("203.0.113.5", True)),
        ('for="[2001:db8::7]:4711";proto=http', Origin("2001:db8::7", False)),
        ("for=192.0.2.9, for=10.0.0.3;proto=https", Origin("192.0.2.9", True)),
    ],
)
def test_the_forwarded_header_is_read_without_x_forwarded_for(value: str, expected: Origin) -> None:
    assert request_origin("::1", False, CIMultiDict({"Forwarded": value}), PROXIES) == expected


def test_the_nearest_proxy_decides_the_scheme() -> None:
    headers = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https, http"}
    assert not request_origin("127.0.0.1", True, CIMultiDict(headers), PROXIES).https


def test_an_ipv4_mapped_peer_is_matched_as_ipv4() -> None:
    headers = {"X-Forwarded-For": "203.0.113.5"}
    assert (
        request_origin("::ffff:127.0.0.1", False, CIMultiDict(headers), PROXIES).ip == "203.0.113.5"
    )


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"),
        ("2001:db8:1:ffff::1", "2001:db8:1::/48"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
    ],
)
def test_limits_count_an_ipv6_client_by_its_48(address: str, key: str) -> None:
    assert address_key(address) == key


def test_the_proxys_own_header_line_is_the_one_believed() -> None:
    # A proxy may append its own line (RFC 9110 §5.3) instead of extending the client's.
    headers = CIMultiDict(
        [
            ("X-Forwarded-For", "192.0.2.99"),  # written by the client
            ("X-Forwarded-For", "203.0.113.5"),  # added by the proxy
            ("X-Forwarded-Proto", "https"),  # written by the client
            ("X-Forwarded-Proto", "http"),
        ]
    )  # added by the proxy
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES) == Origin(
        "203.0.113.5", False
    )


def test_forwarded_lines_are_read_together_too() -> None:
    headers = CIMultiDict(
        [("Forwarded", "for=192.0.2.99;proto=https"), ("Forwarded", "for=203.0.113.5;proto=http")]
    )
    assert request_origin("127.0.0.1", False, CIMultiDict(headers), PROXIES) == Origin(
        "203.0.113.5", False
    )
