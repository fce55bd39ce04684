"""A deadline on reading request headers, which uvicorn does not have.

uvicorn's ``timeout_keep_alive`` closes a connection idle *between* requests, and the first byte of the
next request cancels it; from then until the headers are complete nothing limits a client that sends a
byte every few seconds. The ASGI app cannot help: it is only called once the headers are in. So this
protocol, uvicorn's own with one timer added, arms a deadline when a connection opens and when the first
byte of a following request arrives, lets it go when uvicorn hands the request to the app, and otherwise
answers 408 and closes the connection.

Each app states its deadline in the ASGI lifespan state (``HEADER_TIMEOUT_KEY``), which uvicorn gives every
connection of its process, so one server or each of ``--workers`` uses its own app's limit.
"""
from __future__ import annotations

import json
import logging

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .limits import HEADER_TIMEOUT_KEY

#: used when the app states none (an app without the zoo lifespan)
DEFAULT_S = 10.0

log = logging.getLogger("zoo.serve")


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps({"error": "header_timeout",
                       "message": f"the request headers did not arrive within {seconds:g} s "
                                  "(zoo serve --header-timeout-s)"}).encode()
    head = ("HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
    return head + body


class HeaderTimeoutProtocol(AutoHTTPProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools or h11, as uvicorn picks) with a header-read deadline."""

    _header_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._awaiting_headers():
            self._arm()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if not self._awaiting_headers():
            self._disarm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        """No request of this connection is with the app: the next one's headers are still arriving."""
        return self.cycle is None or self.cycle.response_complete

    @property
    def _timeout_s(self) -> float:
        return float(self.app_state.get(HEADER_TIMEOUT_KEY, DEFAULT_S))

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self._timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        upgraded = self.transport.get_protocol() is not self  # a WebSocket has its own protocol now
        if upgraded or self.transport.is_closing() or not self._awaiting_headers():
            return
        log.info("closing a connection from %s: no complete request headers within %g s",
                 self.client, self._timeout_s)
        self.transport.write(_timeout_response(self._timeout_s))
        self.transport.close()
