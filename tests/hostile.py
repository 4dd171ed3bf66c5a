"""A local server that misbehaves the ways real web servers and pages do.

Each path is one hostile or broken case; see HOSTILE_CASES in tests/test_hostile.py for the
outcome each must have. Everything is served from 127.0.0.1.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import socket
import time

from tests.httpd import LocalServer, QuietHandler

BODY = [
    "The harbour authority confirmed on Monday that the north pier will close for repairs "
    "from the first week of spring, after engineers found corrosion in the supports.",
    "Fishing crews said they had been warned about the condition of the pier for years and "
    "asked for a temporary landing stage so that catches can still come ashore.",
    "The authority said a floating pontoon would be installed before the closure and that "
    "the repairs should take about five months if the weather allows the divers to work.",
    "Local traders welcomed the plan but said they would need clear signs for visitors "
    "during the summer, when the harbour front is at its busiest.",
]


VOCABULARY = sorted({w.strip(".,").lower() for p in BODY for w in p.split()})


def story(case: str, extra: str = "") -> list[str]:
    """Four paragraphs of text unique to `case`, so no two cases look like copies."""
    rng = random.Random(case)
    paragraphs = []
    for _ in range(4):
        words = [rng.choice(VOCABULARY) for _ in range(28)]
        paragraphs.append(" ".join(words).capitalize() + "." + extra)
    return [BODY[0], *paragraphs]


def article(title: str = "Harbour pier to close for repairs", body: list[str] | None = None,
            head: str = "", charset_meta: str | None = "utf-8", case: str = "") -> str:  # fmt: skip
    """A plain, valid article page; `case` makes its body unique."""
    paragraphs = "".join(f"<p>{p}</p>" for p in (body or story(case)))
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return (
        f'<!doctype html><html lang="en"><head>{meta}<title>{title}</title>{head}</head>'
        f'<body><nav><a href="/">Home</a></nav><article><h1>{title}</h1>{paragraphs}'
        "</article><footer>Harbour Times</footer></body></html>"
    )


JAPANESE = [
    "市の港湾局は月曜日、北側の桟橋を春の初めから修理のため閉鎖すると発表しました。技術者が支柱に腐食を見つけたためです。",
    "漁業関係者は何年も前から桟橋の状態について警告していたと述べ、水揚げを続けられるよう仮設の桟橋を求めています。",
    "港湾局によると、閉鎖の前に浮き桟橋が設置され、天候が許せば修理は約五か月で終わる見込みです。",
    "地元の商店は計画を歓迎しましたが、観光客が多い夏の間ははっきりとした案内表示が必要だと話しています。",
]
CP1252_BODY = story("cp1252", " The authority’s café stays open.")
BOM_BODY = story("bom", " The authority’s café stays open.")
CONTROL_BODY = [
    BODY[0] + " Line\u2028separator and paragraph\u2029separator inside.",
    BODY[1] + " Vertical\x0btab and file\x1cseparator and bell\x07 too.",
    *story("control")[1:],
]


@functools.cache
def _bomb() -> bytes:
    """60 MB of HTML unpacked, about 60 KB on the wire."""
    return gzip.compress(b"<html><body>" + b" " * 60_000_000, compresslevel=9)


class HostileServer(LocalServer):
    """Serves the hostile cases; `hits` counts requests and `times` when they came."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.hits: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}

    def start(self) -> HostileServer:
        _bomb()  # built before the crawl, so serving it costs nothing
        return super().start()


class _Handler(QuietHandler):
    server: HostileServer

    def do_GET(self) -> None:
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        self.server.times.setdefault(self.path, []).append(time.monotonic())
        count = self.server.hits[self.path]
        path = self.path.split("?", 1)[0]
        html = "text/html; charset=utf-8"
        port = self.server.port
        if path == "/robots.txt":
            return self.send(200, "text/plain", b"User-agent: *\nAllow: /\n")
        if path == "/ok":
            return self.send(200, html, article(case=path).encode())
        if path == "/zero":
            return self.send(200, html, b"")
        if path == "/scripts":
            scripts = "<script>var a = 1;</script>" * 200
            return self.send(
                200, html, f"<html><head>{scripts}</head><body>{scripts}</body></html>".encode()
            )
        if path == "/nested":
            depth = 100_000
            page = (
                "<html><body>"
                + "<div>" * depth
                + "<p>deep</p>"
                + "</div>" * depth
                + "</body></html>"
            )
            return self.send(200, html, page.encode())
        if path == "/huge":
            return self._stream(html, total=20_000_000, declare_length=True)
        if path == "/huge-chunked":
            return self._stream(html, total=8_000_000, declare_length=False)
        if path == "/bomb":
            return self.send(200, html, _bomb(), {"Content-Encoding": "gzip"})
        if path == "/binary":
            return self.send(200, html, random.Random(7).randbytes(50_000))
        if path == "/nul":
            page = article(body=[p.replace(" the ", " the\x00 ") for p in story(path)])
            return self.send(200, html, page.encode())
        if path == "/invalid-utf8":
            page = article(case=path).encode().replace(b"north pier", b"north pi\xffer", 1)
            return self.send(200, html, page)
        if path == "/cp1252-declared-utf8":
            page = article(body=CP1252_BODY, charset_meta="utf-8").encode("cp1252")
            return self.send(200, html, page)
        if path == "/shift-jis-undeclared":
            page = article(title="港の桟橋、修理のため閉鎖へ", body=JAPANESE, charset_meta=None)
            return self.send(
                200, "text/html", page.replace('lang="en"', 'lang="ja"').encode("shift_jis")
            )
        if path == "/bom-contradicts-header":
            page = b"\xef\xbb\xbf" + article(body=BOM_BODY, charset_meta=None).encode("utf-8")
            return self.send(200, "text/html; charset=iso-8859-1", page)
        if path == "/control-chars":
            return self.send(200, html, article(body=CONTROL_BODY).encode())
        if path == "/bad-metadata":
            blocks = [
                '{"@type": "NewsArticle", "headline": "Harbour pier to close for repairs",',
                json.dumps({
                    "@context": "https://schema.org", "@type": "NewsArticle",
                    "headline": "Harbour pier to close for repairs",
                    "author": [[{"@type": "Person", "name": "Ann Lee"}], 42, {"name": ["x"]}],
                    "datePublished": "yesterday-ish", "dateModified": "3025-01-01T00:00:00Z",
                    "inLanguage": 7, "image": {"url": 5}, "keywords": {"a": 1},
                }),
            ]  # fmt: skip
            head = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
            return self.send(200, html, article(head=head, case=path).encode())
        if path == "/huge-jsonld":
            big = json.dumps({"@type": "NewsArticle", "articleBody": "x" * 3_000_000})
            head = f'<script type="application/ld+json">{big}</script>'
            return self.send(200, html, article(head=head, case=path).encode())
        if path == "/long-title":
            head = '<meta property="og:title" content="' + "Very long title " * 625 + '">'
            return self.send(200, html, article(title="T" * 10_000, head=head, case=path).encode())
        if path == "/loop":
            return self.send(302, html, b"", {"Location": "/loop"})
        if path.startswith("/chain/"):
            step = int(path.rsplit("/", 1)[1])
            return self.send(302, html, b"", {"Location": f"/chain/{step + 1}"})
        if path == "/retry-after":
            if count == 1:
                return self.send(429, html, b"slow down", {"Retry-After": "2"})
            return self.send(200, html, article(title="Pier repairs begin", case=path).encode())
        if path == "/retry-after-too-long":
            return self.send(429, html, b"slow down", {"Retry-After": "86400"})
        if path == "/unavailable-then-ok":
            if count == 1:
                return self.send(503, html, b"busy")
            page = article(title="Pier repairs to start soon", case=path)
            return self.send(200, html, page.encode())
        if path == "/trickle":
            return self._trickle()
        if path == "/cut":
            return self._cut()
        if path == "/to-loopback":
            return self.send(302, html, b"", {"Location": f"http://127.0.0.2:{port}/ok"})
        if path == "/to-localhost":
            return self.send(302, html, b"", {"Location": f"http://localhost:{port}/ok"})
        if path == "/to-metadata":
            return self.send(
                302, html, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}
            )
        if path == "/to-private":
            return self.send(302, html, b"", {"Location": "http://10.1.2.3/admin"})
        if path == "/to-file":
            return self.send(302, html, b"", {"Location": "file:///etc/passwd"})
        return self.send(404, html, b"<h1>Not found</h1>")

    def _stream(self, content_type: str, total: int, declare_length: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if declare_length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + b"filler " * 9000 + b"</p>"
        sent = 0
        try:
            while sent < total:
                data = chunk if declare_length else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                self.wfile.write(data)
                sent += len(chunk)
            if not declare_length:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(60):
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            return

    def _cut(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(article(case="cut").encode()[:300])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
