"""The HTTP/1.1 connection: uvicorn's httptools protocol with bounds on a request's head.

uvicorn bounds neither the size of a request's line and headers nor the time they take to
arrive. httptools gathers a header's value by concatenating each piece read, so a client
sending one header of 100 MB held the event loop (every request of the server) for seconds,
200 MB for minutes; and a client that connected and sent nothing, or half a header, held
its connection for as long as it kept its socket open. Here a head larger than
``MAX_HEAD_BYTES`` is a 431 and closes the connection, and a connection waiting for a
request's head (since it opened, or since its last answer) longer than the client timeout
is closed. (The keep-alive timeout, 5 s, still closes a connection idle between requests.)
"""

from __future__ import annotations

import asyncio

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The request line and headers: 64 KiB, twice nginx's default (4 buffers of 8 KiB).
MAX_HEAD_BYTES = 64 * 1024


class BoundedHttpTools(HttpToolsProtocol):
    def __init__(self, *args, head_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self._in_head = True  # waiting for (the rest of) a request's line and headers
        self._head_bytes = 0
        self._heads_done = 0  # request heads parsed on this connection
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head and len(data) > MAX_HEAD_BYTES - self._head_bytes:
            # The parser is given only what the head may still take: if the head has not
            # ended within it, it is too large. (Counted over the whole chunk and checked
            # after parsing, a head that ended in the chunk read last had reset the count:
            # 70 KB of headers sent at once were served, as was any head that came in one
            # read.)
            room = MAX_HEAD_BYTES - self._head_bytes
            heads = self._heads_done
            if room:
                self._head_bytes += room
                super().data_received(data[:room])
            if self.transport.is_closing():
                return
            if self._heads_done == heads:
                self._refuse_head()
                return
            self.data_received(data[room:])
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._heads_done += 1
        self._in_head = False
        self._head_bytes = 0
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cycle is None or self.cycle.response_complete:  # no pipelined request runs
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        message = f"the request's line and headers are larger than {MAX_HEAD_BYTES} bytes"
        body = orjson.dumps({"error": {"type": "InvalidRequest", "message": message}})
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()
        self._in_head = False
