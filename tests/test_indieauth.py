"""The protocol core, rule by rule (IndieAuth Living Standard, RFC 6749, RFC 7636)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gondulf.indieauth import pkce
from gondulf.indieauth.clients import (
    ClientInfo,
    InvalidClientMetadata,
    parse_client_metadata,
    redirect_uri_allowed,
)
from gondulf.indieauth.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnsupportedResponseType,
)
from gondulf.indieauth.metadata import server_metadata
from gondulf.indieauth.request import parse_request
from gondulf.indieauth.responses import add_query
from gondulf.indieauth.scopes import describe, narrow, parse_scope
from gondulf.indieauth.urls import (
    InvalidURL,
    canonical_client_id,
    canonical_host,
    canonical_profile_url,
    canonical_redirect_uri,
    domain_of,
    profile_url_after_redirects,
)

# -- §3.2 profile URL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_url", "canonical"),
    [
        ("https://example.com", "https://example.com/"),  # no path means /
        ("example.com", "https://example.com/"),  # §3.4: a bare domain gets a scheme
        ("https://EXAMPLE.com/Jane", "https://example.com/Jane"),  # host lowercased, path kept
        ("http://example.com/users?id=1", "http://example.com/users?id=1"),
    ],
)
def test_profile_url_is_canonicalised(given_url: str, canonical: str) -> None:
    assert canonical_profile_url(given_url) == canonical


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mailto:jane@example.com", "http or https"),
        ("ftp://example.com/", "http or https"),
        ("https://example.com/#me", "fragment"),
        ("https://jane:pw@example.com/", "user name or password"),
        ("https://example.com/a/../b", ". or .."),
        ("https://example.com/./b", ". or .."),
        ("https://example.com:8443/", "port"),
        ("https://192.0.2.1/", "IP address"),
        ("https://[2001:db8::1]/", "IP address"),
        ("https://localhost/", "full domain name"),
        ("", "missing"),
    ],
)
def test_profile_url_rules(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason.replace(".", r"\.")):
        canonical_profile_url(url)


def test_profile_url_may_have_a_port_in_development_mode() -> None:
    assert canonical_profile_url("http://jane.test:8080", debug=True) == "http://jane.test:8080/"


@given(st.from_regex(r"[a-z]{1,10}\.[a-z]{2,5}", fullmatch=True))
def test_canonical_profile_url_is_stable(host: str) -> None:
    once = canonical_profile_url(host.upper())
    assert canonical_profile_url(once) == once


# -- §3.3 client identifier -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "canonical"),
    [
        ("https://app.example.com", "https://app.example.com/"),
        ("https://App.Example.com:8443/client", "https://app.example.com:8443/client"),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000/"),
        ("http://[::1]/", "http://[::1]/"),
    ],
)
def test_client_id_rules_allow(client_id: str, canonical: str) -> None:
    assert canonical_client_id(client_id) == canonical


@pytest.mark.parametrize(
    "client_id",
    [
        "https://192.0.2.1/",
        "https://app.example/#x",
        "https://u:p@app.example/",
        "https://app.example/../x",
        "javascript:alert(1)",
        "app.example",
    ],
)
def test_client_id_rules_refuse(client_id: str) -> None:
    with pytest.raises(InvalidURL):
        canonical_client_id(client_id)


def test_redirect_uri_keeps_its_query() -> None:
    assert canonical_redirect_uri("https://App.example/cb?x=1") == "https://app.example/cb?x=1"


# -- §5.2 redirect_uri ------------------------------------------------------------------------


def test_redirect_uri_on_the_client_origin_is_accepted() -> None:
    assert redirect_uri_allowed("https://app.example/", "https://app.example/cb", None)
    assert redirect_uri_allowed("https://app.example/", "https://app.example:443/cb", None)


def test_redirect_uri_on_other_host_must_be_registered() -> None:
    info = ClientInfo("https://app.example/", redirect_uris=("https://cb.example/done",))
    assert not redirect_uri_allowed("https://app.example/", "https://cb.example/other", info)
    assert not redirect_uri_allowed("https://app.example/", "https://cb.example/done", None)
    assert redirect_uri_allowed("https://app.example/", "https://cb.example/done", info)


def test_redirect_uri_on_other_scheme_or_port_is_another_origin() -> None:
    assert not redirect_uri_allowed("https://app.example/", "http://app.example/cb", None)
    assert not redirect_uri_allowed("https://app.example/", "https://app.example:8443/", None)


# -- §4.2.1 client metadata -------------------------------------------------------------------

CLIENT = "https://app.example/"


def metadata(**fields: object) -> bytes:
    import json

    return json.dumps({"client_id": CLIENT, **fields}).encode()


def test_client_metadata_is_read() -> None:
    info = parse_client_metadata(
        metadata(
            client_name="Quill",
            client_uri=CLIENT,
            logo_uri="https://app.example/l.png",
            redirect_uris=["https://cb.example/done", 7],
        ),
        CLIENT,
    )
    assert (info.name, info.uri, info.logo) == ("Quill", CLIENT, "https://app.example/l.png")
    assert info.redirect_uris == ("https://cb.example/done",)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (metadata(client_id="https://other.example/"), "does not equal"),
        (metadata(client_secret="s3cret"), "client secret"),
        (metadata(token_endpoint_auth_method="client_secret_basic"), "client secret"),
        (metadata(client_uri="https://other.example/"), "prefix"),
        (metadata(redirect_uris="https://cb.example/"), "not a list"),
    ],
)
def test_client_metadata_rules(document: bytes, reason: str) -> None:
    with pytest.raises(InvalidClientMetadata, match=reason):
        parse_client_metadata(document, CLIENT)


def test_client_uri_on_other_host_is_flagged() -> None:
    assert ClientInfo(CLIENT, uri="https://other.example/").uri_host_differs
    assert not ClientInfo(CLIENT, uri=CLIENT).uri_host_differs


# -- §5.2 authorization request ---------------------------------------------------------------

CHALLENGE = pkce.s256("v" * 43)


def request_params(**changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": CLIENT + "cb",
        "state": "xyz",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "scope": "profile create",
        "me": "Jane.Example",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v != "<none>"}


def parse(**changes: str):  # type: ignore[no-untyped-def]
    return parse_request(
        request_params(**changes), CLIENT, CLIENT + "cb", allow_no_pkce=False, debug=False
    )


def test_request_is_parsed() -> None:
    request = parse()
    assert request.scope == ("profile", "create")
    assert request.me_hint == "https://jane.example/"
    assert not request.profile_only


def test_missing_response_type_is_a_profile_only_request() -> None:
    # The original required response_type; older clients send none (or "id").
    for response_type in ("<none>", "id"):
        request = parse(response_type=response_type)
        assert request.profile_only and request.scope == ("profile",)


def test_unknown_response_type_is_refused() -> None:
    with pytest.raises(UnsupportedResponseType):
        parse(response_type="token")


def test_state_is_required() -> None:
    with pytest.raises(InvalidRequest, match="state"):
        parse(state="<none>")


def test_state_length_is_bounded() -> None:
    assert parse(state="s" * 2000).state == "s" * 2000
    with pytest.raises(InvalidRequest, match="longer than 2000"):
        parse(state="s" * 2001)


def test_pkce_is_required_unless_allowed() -> None:
    with pytest.raises(InvalidRequest, match="PKCE is required"):
        parse(code_challenge="<none>", code_challenge_method="<none>")
    request = parse_request(
        request_params(code_challenge="<none>", code_challenge_method="<none>"),
        CLIENT,
        CLIENT + "cb",
        allow_no_pkce=True,
        debug=False,
    )
    assert request.code_challenge is None


@pytest.mark.parametrize("method", ["plain", "<none>", "S512"])
def test_only_s256_is_accepted(method: str) -> None:
    with pytest.raises(InvalidRequest, match="S256"):
        parse(code_challenge_method=method)


def test_malformed_challenge_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="43-character"):
        parse(code_challenge="short")


def test_invalid_me_is_only_a_hint() -> None:
    assert parse(me="https://192.0.2.1/").me_hint is None


def test_invalid_scope_token_is_refused() -> None:
    with pytest.raises(InvalidScope):
        parse(scope='profile "quoted"')


# -- PKCE (RFC 7636) --------------------------------------------------------------------------


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert (
        pkce.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_verifier_must_match() -> None:
    pkce.verify("v" * 43, CHALLENGE)
    with pytest.raises(InvalidGrant, match="does not match"):
        pkce.verify("w" * 43, CHALLENGE)


def test_verifier_without_challenge_and_the_reverse_are_refused() -> None:
    with pytest.raises(InvalidGrant, match="had no code_challenge"):
        pkce.verify("v" * 43, None)
    with pytest.raises(InvalidGrant, match="required"):
        pkce.verify(None, CHALLENGE)
    pkce.verify(None, None)


def test_malformed_verifier_is_refused() -> None:
    with pytest.raises(InvalidGrant, match="43-128"):
        pkce.verify("short", CHALLENGE)


# -- scopes, metadata, responses ----------------------------------------------------------------


def test_scopes_are_parsed_in_order_without_duplicates() -> None:
    assert parse_scope(" create  profile create ") == ("create", "profile")
    assert parse_scope(None) == ()


def test_too_many_scopes_are_refused() -> None:
    with pytest.raises(InvalidScope):
        parse_scope(" ".join(f"s{i}" for i in range(31)))


def test_scope_narrowing_never_widens() -> None:
    assert narrow(("profile", "create"), ["create", "delete"]) == ("create",)


def test_every_scope_is_described_in_plain_words() -> None:
    assert describe("create") == "Publish new posts on your website"
    assert "custom" in describe("custom")


def test_metadata_has_every_required_field() -> None:
    endpoints = {
        "authorization_endpoint": "https://auth.example/authorize",
        "token_endpoint": "https://auth.example/token",
    }
    document = server_metadata(
        "https://auth.example/", endpoints, documentation="https://auth.example/"
    )
    assert document["issuer"] == "https://auth.example/"
    assert document["authorization_endpoint"] == "https://auth.example/authorize"
    assert document["token_endpoint"] == "https://auth.example/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["client_id_metadata_document_supported"] is True
    assert "profile" in document["scopes_supported"]


def test_add_query_keeps_existing_parameters() -> None:
    assert (
        add_query("https://app.example/cb?a=1&state=old#frag", {"state": "new", "code": "c"})
        == "https://app.example/cb?a=1&state=new&code=c"
    )


# -- canonical hosts (one name, one identity) -----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("https://Victim.Example./", "https://victim.example/"),
        ("https://victim.example./a", "https://victim.example/a"),
        ("https://BÜCHER.example/", "https://xn--bcher-kva.example/"),
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        ("faß.de", "https://xn--fa-hia.de/"),
    ],
)
def test_profile_hosts_are_case_folded_idna_encoded_without_trailing_dot(
    typed: str, canonical: str
) -> None:
    assert canonical_profile_url(typed) == canonical


@pytest.mark.parametrize(
    "host", ["ex%61mple.com", "a..b.example", "-a.example", "✓.example", "under_score.example"]
)
def test_hosts_that_are_not_names_are_refused(host: str) -> None:
    with pytest.raises(InvalidURL):
        canonical_profile_url(f"https://{host}/")


def test_a_single_label_with_a_trailing_dot_is_not_a_full_domain() -> None:
    with pytest.raises(InvalidURL, match="full domain name"):
        canonical_profile_url("https://jane./")


def test_client_id_and_redirect_uri_hosts_are_canonical_too() -> None:
    assert canonical_client_id("https://App.Example.:8443/") == "https://app.example:8443/"
    assert canonical_redirect_uri("https://APP.example./cb") == "https://app.example/cb"
    assert domain_of("https://Jane.Example./") == canonical_host("JANE.example.") == "jane.example"


# -- the profile URL after redirects (§3.3) --------------------------------------------------


@pytest.mark.parametrize(
    ("redirects", "profile"),
    [
        ([], "https://a.example/"),
        ([(301, "https://b.example/")], "https://b.example/"),
        ([(308, "https://b.example/"), (301, "https://c.example/")], "https://c.example/"),
        ([(302, "https://b.example/")], "https://a.example/"),
        (
            [(301, "https://b.example/"), (302, "https://c.example/"), (301, "https://d.example/")],
            "https://b.example/",
        ),
        ([(307, "https://b.example/"), (301, "https://c.example/")], "https://a.example/"),
        ([(303, "https://b.example/")], "https://a.example/"),
    ],
)
def test_permanent_redirects_move_the_profile_url_until_the_first_temporary_one(
    redirects: list[tuple[int, str]], profile: str
) -> None:
    assert profile_url_after_redirects("https://a.example/", redirects) == profile


@pytest.mark.parametrize(
    "path",
    [
        "/~alice/%2e%2e/~bob/",
        "/~alice/%2E%2e/~bob/",
        "/~alice/.%2e/~bob/",
        "/~alice/%2E/x",
        "/a/%2e",
    ],
)
def test_encoded_dot_segments_are_dot_segments(path: str) -> None:
    # a web server decodes %2e: /~alice/%2e%2e/~bob/ is Bob's page under Alice's path
    with pytest.raises(InvalidURL, match=r"\. or \.\."):
        canonical_profile_url(f"https://shared.example{path}")


@pytest.mark.parametrize(
    "path", ["/~alice%2F..%2F~bob/", "/~alice%5c..%5c~bob/", "/~alice\\\\..\\\\~bob/"]
)
def test_encoded_slashes_are_refused_in_profile_urls(path: str) -> None:
    with pytest.raises(InvalidURL):
        canonical_profile_url(f"https://shared.example{path}")


def test_a_path_has_one_spelling() -> None:
    assert (
        canonical_profile_url("https://example.com/%7ejane/%c3%a9")
        == "https://example.com/~jane/%C3%A9"
    )
