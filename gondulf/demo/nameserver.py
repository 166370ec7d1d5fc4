"""A small authoritative DNS server on loopback for the demo's made-up names (dnspython).

Gondulf's resolver is pointed at it (GONDULF_DNS_NAMESERVERS), so the domain
proof (the `_gondulf` TXT record) and the address of every host Gondulf
fetches are real DNS answers over UDP. Names outside the zone do not exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from gondulf.services.outside.dns import VERIFY_VALUE, verification_name

log = logging.getLogger("gondulf.demo.dns")
TTL = 60
LOOPBACK = "127.0.0.1"

Records = Mapping[str, Mapping[dns.rdatatype.RdataType, tuple[str, ...]]]


@dataclass(frozen=True)
class Zone:
    """Names (lowercase, no final dot) → record type → rdata in zone-file text."""

    records: Records

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        """The authoritative answer to one query."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        found = self.records.get(question.name.to_text(omit_final_dot=True).lower())
        if found is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        rdata = found.get(question.rdtype, ())
        if rdata:  # otherwise NOERROR with no answer: the name holds no record of that type
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, TTL, dns.rdataclass.IN, question.rdtype, list(rdata)
                )
            )
        return response


def person_zone(*, person: str, others: tuple[str, ...] = ()) -> Zone:
    """A proven domain for `person` (its `_gondulf` TXT record), and every host on loopback."""
    records: dict[str, dict[dns.rdatatype.RdataType, tuple[str, ...]]] = {
        verification_name(person): {dns.rdatatype.TXT: (f'"{VERIFY_VALUE}"',)},
    }
    for host in (person, *others):
        records[host.lower()] = {dns.rdatatype.A: (LOOPBACK,)}
    return Zone(records)


class _Answering(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return  # not a DNS query: nothing to answer
        response = self.zone.respond(query)
        for question in query.question:
            log.info(
                "DNS %s %s: %s",
                question.name.to_text(omit_final_dot=True),
                dns.rdatatype.to_text(question.rdtype),
                answer_text(response),
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


def answer_text(response: dns.message.Message) -> str:
    if response.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(response.rcode())
    values = [rdata.to_text() for rrset in response.answer for rdata in rrset]
    return ", ".join(values) if values else "no record of that type"


@dataclass
class RunningNameserver:
    transport: asyncio.DatagramTransport
    port: int

    @property
    def address(self) -> str:
        """The value for GONDULF_DNS_NAMESERVERS."""
        return f"{LOOPBACK}:{self.port}"

    def close(self) -> None:
        self.transport.close()


async def start_nameserver(zone: Zone) -> RunningNameserver:
    """Answer for `zone` on a free UDP port of 127.0.0.1."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Answering(zone), local_addr=(LOOPBACK, 0)
    )
    return RunningNameserver(transport, transport.get_extra_info("sockname")[1])
