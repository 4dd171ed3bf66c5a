"""DNS rebinding: the target guard and the connection see one answer (`PinnedResolver`).

In-process: a name server that answers differently the second time is the one thing we cannot
run here, so the resolver's lookup (a thread running gethostbyname in a crawl) is given as a
constructor argument. Everything else is the real code: the guard middleware on a crawler,
and the resolver installed on a (not running) Twisted reactor, whose `nameResolver` is what
Twisted's `HostnameEndpoint` asks when Scrapy connects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolutionReceiver
from twisted.internet.selectreactor import SelectReactor
from zope.interface import implementer

from newscrawl.fetch.middlewares import BlockedTarget, TargetGuardMiddleware
from newscrawl.fetch.resolver import PinnedResolver

PUBLIC = "93.184.216.34"
NAME = "rebind.test"


class ChangingDNS:
    """A name server whose answers for every name come from a list, one per lookup."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, name: str) -> Deferred[str]:
        self.asked.append(name)
        answer = self.answers.pop(0)
        return fail(answer) if isinstance(answer, Exception) else succeed(answer)


@implementer(IResolutionReceiver)
class Addresses:
    """Collects what a Twisted name resolution delivers, as HostnameEndpoint receives it."""

    def __init__(self) -> None:
        self.addresses: list[IPv4Address] = []
        self.complete = False

    def resolutionBegan(self, resolution: object) -> None:
        """Nothing to keep."""

    def addressResolved(self, address: IPv4Address) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


@pytest.fixture
def reactor() -> Iterator[SelectReactor]:
    reactor = SelectReactor()  # never run, never installed: only its resolver slot is used
    yield reactor
    reactor.waker.connectionLost(None)  # closes the waker's pipe


def _setup(
    reactor: SelectReactor, dns: ChangingDNS
) -> tuple[TargetGuardMiddleware, PinnedResolver]:
    resolver = PinnedResolver(reactor, dns)
    resolver.install_on_reactor()
    crawler = get_crawler(Spider, {"NEWSCRAWL_GUARD_TARGETS": True})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return TargetGuardMiddleware(crawler, frozenset(), resolver), resolver


def _guard(guard: TargetGuardMiddleware, url: str) -> str:
    """What the guard does with a discovered link's request: "passed", or its refusal."""
    request = Request(url, meta={"user_given": False})
    try:
        asyncio.run(guard.process_request(request))
    except BlockedTarget as exc:
        return str(exc)
    return "passed"


def _connect_addresses(reactor: SelectReactor, port: int = 80) -> Addresses:
    """The addresses a connection to NAME would try (the reactor's name resolver)."""
    receiver = Addresses()
    reactor.nameResolver.resolveHostName(receiver, NAME, port)
    assert receiver.complete
    return receiver


def test_a_name_rebinding_to_loopback_is_connected_where_the_guard_checked(
    reactor: SelectReactor,
) -> None:
    dns = ChangingDNS(PUBLIC, "127.0.0.2")
    guard, _ = _setup(reactor, dns)
    assert _guard(guard, f"http://{NAME}/story") == "passed"
    assert _guard(guard, f"http://{NAME.upper()}/other") == "passed"
    connect = _connect_addresses(reactor, 8080)
    assert connect.addresses == [IPv4Address("TCP", PUBLIC, 8080)]  # never 127.0.0.2
    assert dns.asked == [NAME]  # one lookup for the guard and the connection


def test_a_name_answering_loopback_first_is_blocked_and_never_connected_elsewhere(
    reactor: SelectReactor,
) -> None:
    dns = ChangingDNS("127.0.0.2", PUBLIC)
    guard, _ = _setup(reactor, dns)
    assert _guard(guard, f"http://{NAME}/story") == (
        f"blocked: {NAME} is an internal address (127.0.0.2)"
    )
    assert _connect_addresses(reactor).addresses == [IPv4Address("TCP", "127.0.0.2", 80)]
    assert dns.asked == [NAME]


def test_a_failed_lookup_stays_failed_for_the_connection(reactor: SelectReactor) -> None:
    dns = ChangingDNS(DNSLookupError(f"address {NAME!r} not found"), "127.0.0.2")
    guard, _ = _setup(reactor, dns)
    assert _guard(guard, f"http://{NAME}/story") == "passed"  # the download fails instead
    assert _connect_addresses(reactor).addresses == []
    assert dns.asked == [NAME]


def test_askers_during_a_lookup_share_it(reactor: SelectReactor) -> None:
    pending: Deferred[str] = Deferred()
    asked: list[str] = []

    def lookup(name: str) -> Deferred[str]:
        asked.append(name)
        return pending

    resolver = PinnedResolver(reactor, lookup)
    answers: list[str] = []
    for _ in range(3):
        resolver.getHostByName(NAME).addCallback(answers.append)
    assert answers == [] and asked == [NAME]
    pending.callback(PUBLIC)
    assert answers == [PUBLIC] * 3
