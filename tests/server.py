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
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class FixtureServer(ThreadingHTTPServer):
    """Serves tests/fixtures; counts hits per path so tests can check retries and robots."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FixtureServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the crawl's own log is what tests read."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        if path == "/robots.txt":
            return self._send(200, "text/plain", ROBOTS)
        if match := re.fullmatch(r"/articles/([\w-]+\.html)", path):
            return self._page(match[1], None)
        if match := re.fullmatch(r"/old/([\w-]+)", path):
            return self._send(301, "text/html", b"", {"Location": f"/articles/{match[1]}.html"})
        if match := re.fullmatch(r"/syndicated/([\w-]+)", path):
            return self._page(f"{match[1]}.html", f"{self.server.base}{path}")
        if path.startswith("/private/"):
            return self._page("semantic_html5.html", None)
        if path == "/broken":
            return self._send(500, "text/html", b"<h1>Internal Server Error</h1>")
        if path == "/files/report.pdf":
            return self._send(200, "application/pdf", PDF)
        if match := re.fullmatch(r"/marked/[\w-]+/([\w-]+)", path):
            return self._page(f"{match[1]}.html", None)
        if path == "/empty.html":
            return self._send(200, "text/html; charset=utf-8", b"")
        return self._send(404, "text/html", b"<h1>Not Found</h1>")

    def _page(self, name: str, canonical: str | None) -> None:
        file = FIXTURES / name
        if not file.is_file():
            return self._send(404, "text/html", b"<h1>Not Found</h1>")
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
        self._send(200, "text/html; charset=utf-8", body)

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
