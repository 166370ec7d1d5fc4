"""Routes named once: every path is spelled in the route table and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

from support.signin import World

from gondulf.web.paths import Name
from gondulf.web.routes import ROUTES, advertised_endpoints

PACKAGE = Path(__file__).resolve().parent.parent / "gondulf"
ROUTE_TABLE = PACKAGE / "web" / "routes.py"


def test_every_name_has_one_route_and_every_route_a_name() -> None:
    assert sorted(route.name for route in ROUTES) == sorted(Name)
    assert len({route.path for route in ROUTES}) == len(ROUTES)


async def test_the_metadata_document_names_every_advertised_endpoint(world: World) -> None:
    document = await (await world.gondulf.get("/.well-known/oauth-authorization-server")).json()
    advertised = advertised_endpoints(world.issuer)
    assert {
        "authorization_endpoint",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
    } <= set(advertised)
    for key, url in advertised.items():
        assert document[key] == url
        assert url.startswith(world.issuer)


def test_no_endpoint_path_is_spelled_outside_the_route_table() -> None:
    paths = sorted({route.path for route in ROUTES if route.path != "/"}, key=len, reverse=True)
    spelled = re.compile("|".join(re.escape(f'"{path}') for path in paths))
    sources = [*PACKAGE.rglob("*.py"), *(PACKAGE / "templates").rglob("*.html")]
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sources
        if path != ROUTE_TABLE and spelled.search(path.read_text())
    ]
    assert offenders == []
