"""One DNS answer per name for the whole crawl: what the target guard checks is what we connect to.

The target guard (`newscrawl.fetch.middlewares.TargetGuardMiddleware`) refuses names that resolve to
internal addresses. If it resolved a name itself and Scrapy resolved it again to connect, a
name answering a public address the first time and 127.0.0.1 the second (DNS rebinding)
would pass the guard and reach an internal service. `PinnedResolver`, installed as
`TWISTED_DNS_RESOLVER`, resolves each name once (concurrent askers share the lookup) and gives
that answer, or that failure, to every later asker: the guard asks it first, and the
connection (Twisted's `HostnameEndpoint`, through the reactor's resolver) gets the same one.

Answers are kept like Scrapy's own DNS cache (`DNSCACHE_SIZE` names, oldest dropped first);
a dropped name is resolved, and checked by the guard, afresh on its next request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

from scrapy.resolver import dnscache
from scrapy.utils.datatypes import LocalCache
from twisted.internet.base import ReactorBase, ThreadedResolver
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IResolverSimple
from twisted.python.failure import Failure
from zope.interface import implementer

Lookup = Callable[[str], "Deferred[str]"]


@implementer(IResolverSimple)
class PinnedResolver:
    """A reactor resolver giving each name's first answer (an IPv4 address) for the run."""

    def __init__(self, reactor: ReactorBase, lookup: Lookup, cache_size: int = 10_000) -> None:
        self.reactor = reactor
        self._lookup = lookup  # the real lookup: a thread running gethostbyname, with a time-out
        self._answers: LocalCache[str, str | Failure] = LocalCache(max(1, cache_size))
        self._waiting: dict[str, list[Deferred[str]]] = {}  # name -> askers of a running lookup

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> Self:
        """Built by Scrapy with the crawler process (only its settings are read)."""
        settings = crawler.settings
        timeout = settings.getfloat("DNS_TIMEOUT")
        threaded = ThreadedResolver(reactor)

        def lookup(name: str) -> Deferred[str]:
            return threaded.getHostByName(name, (timeout,))  # type: ignore[arg-type]

        # DNSCACHE_ENABLED=False does not turn pinning off: it is what makes the guard hold.
        return cls(reactor, lookup, settings.getint("DNSCACHE_SIZE"))

    def install_on_reactor(self) -> None:
        """Make this the reactor's resolver (Scrapy calls it once, at start)."""
        self.reactor.installResolver(self)  # type: ignore[arg-type]  # zope interface

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """The name's pinned answer; the first asker starts the one lookup."""
        key = name.lower()
        known = self._answers.get(key)
        if isinstance(known, Failure):
            return fail(known)
        if known is not None:
            return succeed(known)
        asker: Deferred[str] = Deferred()
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(asker)
            return asker
        self._waiting[key] = [asker]
        self._lookup(name).addBoth(self._settle, key)
        return asker

    def _settle(self, result: str | Failure, key: str) -> None:
        self._answers[key] = result
        if isinstance(result, str):
            dnscache[key] = result  # Scrapy's per-IP download slots read this cache
        for asker in self._waiting.pop(key, []):
            if isinstance(result, Failure):
                asker.errback(result)
            else:
                asker.callback(result)
