"""URL canonicalisation: the one form under which a page is keyed, in a run and across runs.

`canonical_url` builds on w3lib's `canonicalize_url` (percent-encoding, sorted query, no
fragment, lower-case scheme and host) and also drops default ports and tracking parameters
(`utm_*`, `fbclid`, `gclid` and the like). `page_keys` adds a page's `<link rel=canonical>`
when it points to the same site (courlan's registrable-domain lookup), never to another one:
a syndicated copy pointing to its original is a copy, not the original.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import extract_domain
from w3lib.url import canonicalize_url

# Query parameters that only say where a click came from; they never select content.
TRACKING_PARAMS = re.compile(
    r"""^(?:
        utm_\w* | mtm_\w* | pk_\w* | oly_\w* | vero_\w* | hsa_\w* | _hs\w* | ga_\w* | mc_\w*
      | fbclid | gclid | gclsrc | dclid | gbraid | wbraid | msclkid | yclid | twclid | ttclid
      | igshid | igsh | li_fat_id | mkt_tok | _ga | _gl | ocid | cmpid | s_cid | xtor
      | at_medium | at_campaign | at_custom\d* | ref_src | ref_url | __twitter_impression
      | sr_share | smid | guccounter | guce_referrer | guce_referrer_sig
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=1024)  # every pipeline step keys the same few URLs of a page
def canonical_url(url: str) -> str:
    """The key form of `url`: same page, same string (see the module docstring)."""
    canonical = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(canonical)
    netloc = parts.netloc
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and _DEFAULT_PORTS.get(parts.scheme) == port:
        netloc = netloc.rsplit(":", 1)[0]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(name, value) for name, value in pairs if not TRACKING_PARAMS.match(name)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    path = parts.path or ("/" if parts.scheme in _DEFAULT_PORTS else "")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def same_site(url: str, other: str) -> bool:
    """Both URLs are on one site: the same registrable domain (or host, for IPs/localhost)."""
    first, second = urlsplit(url), urlsplit(other)
    if first.scheme == "file" or second.scheme == "file":
        return first.scheme == second.scheme
    host, other_host = (first.hostname or "").lower(), (second.hostname or "").lower()
    if not host or not other_host:
        return False
    if host == other_host:
        return True
    domain = _registrable_domain(first.scheme, first.netloc)
    return domain is not None and domain == _registrable_domain(second.scheme, second.netloc)


@functools.lru_cache(maxsize=4096)
def _registrable_domain(scheme: str, netloc: str) -> str | None:
    """courlan's registrable domain of a URL's host, looked up once per host (the path does
    not change it; a public-suffix lookup costs about 0.3 ms, and a crawl asks again for
    every page of a site)."""
    return extract_domain(f"{scheme}://{netloc}/", fast=True)


def page_key(url: str, canonical: str | None) -> str:
    """The identity of a fetched page: its same-site canonical link, else its final URL."""
    if canonical and same_site(canonical, url):
        return canonical_url(canonical)
    return canonical_url(url)


def page_keys(requested: str | None, url: str, canonical: str | None) -> list[str]:
    """Every key a fetched page is known by: identity first, then final and requested URL."""
    return list(_page_keys(requested, url, canonical))


@functools.lru_cache(maxsize=256)  # each pipeline step asks again for the same page
def _page_keys(requested: str | None, url: str, canonical: str | None) -> tuple[str, ...]:
    keys = [page_key(url, canonical), canonical_url(url)]
    if requested:
        keys.append(canonical_url(requested))
    return tuple(dict.fromkeys(keys))


def redacted(url: str) -> str:
    """A URL fit for logs and run.json: its password (if any) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=user + host + (f":{parts.port}" if parts.port else "")))
