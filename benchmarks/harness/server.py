"""Pages served from memory on 127.0.0.1: an asyncio HTTP/1.1 keep-alive server in a thread."""

from __future__ import annotations

import asyncio
import threading
import time

ROBOTS = b"User-agent: *\nAllow: /\n"


class PageServer:
    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.port = 0
        self.requests = 0
        self.cpu = 0.0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="page-server", daemon=True)

    def start(self) -> PageServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())
        self.cpu = time.thread_time()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0, backlog=256)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = request_line.split(" ")
                path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
                if path == "/robots.txt":
                    status, ctype, body = "200 OK", "text/plain", ROBOTS
                elif (page := self.pages.get(path)) is not None:
                    status, ctype, body = "200 OK", "text/html; charset=utf-8", page
                else:
                    status, ctype, body = "404 Not Found", "text/html", b"<h1>Not found</h1>"
                close = b"connection: close" in head.lower()
                connection = "close" if close else "keep-alive"
                header = (
                    f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n"
                )
                writer.write(header.encode("latin-1") + body)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
