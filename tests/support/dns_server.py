"""An authoritative DNS server on 127.0.0.1 (dnslib) with a zone tests can change."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dnslib import AAAA, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


@dataclass
class Zone(BaseResolver):  # type: ignore[misc]
    """Names not in `records` answer NXDOMAIN; names in `servfail` answer SERVFAIL."""

    records: dict[str, list[tuple[str, object]]] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)  # seconds before answering

    def reset(self) -> None:
        self.records.clear()
        self.servfail.clear()
        self.queries.clear()
        self.delays.clear()

    def add_txt(self, name: str, *strings: str) -> None:
        self.records.setdefault(name.lower(), []).append(("TXT", list(strings)))

    def add_a(self, name: str, address: str = "127.0.0.1") -> None:
        rtype = "AAAA" if ":" in address else "A"
        self.records.setdefault(name.lower(), []).append((rtype, address))

    def resolve(self, request, handler):  # type: ignore[no-untyped-def]
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        time.sleep(self.delays.get(qname, 0))  # the server answers each query in a thread
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if qname not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rtype, value in self.records[qname]:
            if rtype != qtype:
                continue
            rdata = {"TXT": TXT, "A": A, "AAAA": AAAA}[rtype](value)
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, rtype), rdata=rdata, ttl=60))
        return reply


@dataclass
class RunningDns:
    zone: Zone
    port: int

    @property
    def nameserver(self) -> str:
        """The value for GONDULF_DNS_NAMESERVERS."""
        return f"127.0.0.1:{self.port}"


@contextmanager
def running_dns() -> Iterator[RunningDns]:
    zone = Zone()
    server = DNSServer(
        zone,
        address="127.0.0.1",
        port=0,
        logger=DNSLogger(log="-request,-reply,-truncated,-error", prefix=False),
    )
    server.start_thread()
    try:
        yield RunningDns(zone, server.server.server_address[1])
    finally:
        server.stop()
        server.server.server_close()


@contextmanager
def silent_udp_port() -> Iterator[int]:
    """A bound UDP port that never answers: queries to it time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
