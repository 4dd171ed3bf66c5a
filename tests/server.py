"""A small real HTTP server on 127.0.0.1 serving the fixture pages the way publishers do.

Routes:
  /robots.txt                 disallows /private/
  /articles/<case>.html       a fixture page (text/html; charset=utf-8)
  /old/<case>                 301 to /articles/<case>.html
  /syndicated/<case>          the same page under another URL, its canonical link pointing here
  /private/<anything>         a page robots.txt forbids
  /missing                    404
  /broken                     500, every time
  /files/report.pdf           a PDF (application/pdf)
  /empty.html                 an empty 200 text/html page
  /marked/<marker>/<case>     a fixture page under a URL carrying a marker (tests/support hooks)
  /large/<mb>/<case>          a fixture page padded with an HTML comment to <mb> MB
  /mislabelled/<lang>         a page in a legacy encoding declared UTF-8 (tests/mislabelled.py)
  /gen/<n>.html               generated story n (tests/generated.py) at `revisions[n]`, with an
                              ETag and Last-Modified; 304 to a matching conditional request;
                              waits `gen_delay` seconds first (to land a kill mid-crawl)
  /static/<n>.html            the same story without ETag or Last-Modified
  /copies/<n>.html            a syndicated near-copy of story n (canonical link off-site)
  /mirror/<n>.html            story n's exact page under another URL (canonical link off-site)
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from email.utils import formatdate
from pathlib import Path

from tests import mislabelled
from tests.generated import article_html
from tests.httpd import LocalServer, QuietHandler

FIXTURES = Path(__file__).parent / "fixtures"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class FixtureServer(LocalServer):
    """Serves tests/fixtures; counts hits per path so tests can check retries and robots."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()  # 304 answers per path
        self.revisions: dict[int, int] = {}  # generated story -> revision served (default 1)
        self.gen_delay = 0.0


class _Handler(QuietHandler):
    server: FixtureServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        if path == "/robots.txt":
            return self.send(200, "text/plain", ROBOTS)
        if match := re.fullmatch(r"/articles/([\w-]+\.html)", path):
            return self._page(match[1], None)
        if match := re.fullmatch(r"/old/([\w-]+)", path):
            return self.send(301, "text/html", b"", {"Location": f"/articles/{match[1]}.html"})
        if match := re.fullmatch(r"/syndicated/([\w-]+)", path):
            return self._page(f"{match[1]}.html", f"{self.server.base}{path}")
        if path.startswith("/private/"):
            return self._page("semantic_html5.html", None)
        if path == "/broken":
            return self.send(500, "text/html", b"<h1>Internal Server Error</h1>")
        if path == "/files/report.pdf":
            return self.send(200, "application/pdf", PDF)
        if match := re.fullmatch(r"/refresh/([\w-]+)", path):
            return self.send(200, "text/html", _refresh_page(f"/articles/{match[1]}.html"))
        if match := re.fullmatch(r"/marked/[\w-]+/([\w-]+)", path):
            return self._page(f"{match[1]}.html", None)
        if (match := re.fullmatch(r"/mislabelled/(\w+)", path)) and match[1] in mislabelled.TEXTS:
            page = mislabelled.page(match[1]).encode(mislabelled.ENCODINGS[match[1]])
            return self.send(200, "text/html; charset=utf-8", page)
        if match := re.fullmatch(r"/large/(\d+)/([\w-]+)", path):
            return self._large(f"{match[2]}.html", int(match[1]))
        if match := re.fullmatch(r"/(gen|static|copies|mirror)/(\d+)\.html", path):
            return self._generated(path, match[1], int(match[2]))
        if path == "/empty.html":
            return self.send(200, "text/html; charset=utf-8", b"")
        return self.send(404, "text/html", b"<h1>Not Found</h1>")

    def _page(self, name: str, canonical: str | None) -> None:
        file = FIXTURES / name
        if not file.is_file():
            return self.send(404, "text/html", b"<h1>Not Found</h1>")
        body = file.read_bytes()
        if canonical is not None:
            body = re.sub(
                rb'(<link[^>]*rel="canonical"[^>]*href=")[^"]*"',
                rb"\g<1>" + canonical.encode() + b'"',
                body,
            )
            body = re.sub(
                rb'(<meta[^>]*property="og:url"[^>]*content=")[^"]*"',
                rb"\g<1>" + canonical.encode() + b'"',
                body,
            )
        self.send(200, "text/html; charset=utf-8", body)

    def _large(self, name: str, megabytes: int) -> None:
        body = (FIXTURES / name).read_bytes()
        padding = b"<!-- " + b"padding " * (megabytes * 131_072) + b"-->"
        self.send(200, "text/html; charset=utf-8", body.replace(b"</body>", padding + b"</body>"))

    def _generated(self, path: str, route: str, n: int) -> None:
        revision = self.server.revisions.get(n, 1)
        if route == "gen" and self.server.gen_delay:
            time.sleep(self.server.gen_delay)
        body = article_html(n, revision, copy=route == "copies")
        if route != "gen":
            return self.send(200, "text/html; charset=utf-8", body)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        validators = {
            "ETag": etag,
            "Last-Modified": formatdate(1_700_000_000 + 86_400 * revision, usegmt=True),
        }
        if self.headers.get("If-None-Match") == etag:
            self.server.not_modified[path] += 1
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return None
        return self.send(200, "text/html; charset=utf-8", body, validators)


def _refresh_page(target: str) -> bytes:
    """A moved page that sends the browser on with a meta refresh (Latin-1, declared only in
    the page, non-ASCII before the tag)."""
    return (
        '<!DOCTYPE html><html><head><meta charset="iso-8859-1">'
        "<title>D\u00e9plac\u00e9e - Seite verschoben</title>"
        f'<meta http-equiv="refresh" content="0; url={target}"></head>'
        "<body><p>Cette page a d\u00e9m\u00e9nag\u00e9.</p></body></html>"
    ).encode("iso-8859-1")
