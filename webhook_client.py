"""The one place Fusion Billing sends HTTP requests out: webhook deliveries.

A delivery goes to the address that the SSRF guard checked, never to a second DNS
answer (a name re-resolved between the check and the connection could point anywhere),
while TLS still verifies the certificate against the host name. Redirects are not
followed and their bodies are not read, both timeouts are short, a whole attempt has a
deadline (a receiver that trickles bytes cannot hold a worker), and at most a few
kilobytes of the answer are read.
"""

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import engine
from .engine.webhooks import CONNECT_TIMEOUT, DELIVERY_DEADLINE, READ_TIMEOUT, RESPONSE_READ_LIMIT


@dataclass(frozen=True)
class WebhookResponse:
    """What the receiver answered: status code, ``Retry-After`` header, start of the body."""

    status: int
    retry_after: str | None
    body: bytes


class Deadline:
    """Shuts the connection's socket down when the attempt runs out of time: a read that
    waits for a receiver's next byte then returns at once, whatever the timeouts."""

    def __init__(self, seconds):
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._timer = None

    def watch(self, sock):
        self._timer = threading.Timer(max(0.0, self.ends_at - time.monotonic()), self._expire, [sock])
        self._timer.daemon = True
        self._timer.start()

    def _expire(self, sock):
        self.expired = True
        # Already closed or reset by the receiver: the attempt is over either way.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self):
        if self._timer:
            self._timer.cancel()


def _watched_pool(pool_class, deadline):
    """``pool_class`` whose connections are watched by ``deadline`` from the moment their
    socket exists (the TLS handshake included)."""
    class WatchedConnection(pool_class.ConnectionCls):
        def _new_conn(self):
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    return type(pool_class.__name__, (pool_class,), {'ConnectionCls': WatchedConnection})


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to ``address`` whatever the URL's host, keeping the host for the
    ``Host`` header, for TLS's SNI and for checking the certificate; its connections
    are cut when ``deadline`` passes."""

    def __init__(self, hostname, address, tls, deadline):
        self.hostname = hostname
        self.address = address
        self.tls = tls
        self.deadline = deadline
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        if self.tls:
            pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        result = super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            scheme: _watched_pool(pool_class, self.deadline)
            for scheme, pool_class in self.poolmanager.pool_classes_by_scheme.items()}
        return result

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        host = f'[{self.address}]' if ':' in self.address else self.address
        request.url = urlunsplit(parts._replace(netloc=f'{host}:{parts.port}' if parts.port else host))
        request.headers['Host'] = parts.netloc.rpartition('@')[2]
        return super().send(request, **kwargs)


def post_webhook(url, body, headers, allow_private=False, resolver=None):
    """POST ``body`` (bytes) to ``url`` with ``headers``; return a WebhookResponse.

    Raises engine.UnsafeWebhookUrl when the URL fails the SSRF guard and
    requests.RequestException (Timeout, ConnectionError, ...) when no answer came.
    """
    checked = engine.check_webhook_url(url, resolver=resolver, allow_private=allow_private)
    deadline = Deadline(DELIVERY_DEADLINE)
    adapter = PinnedAddressAdapter(checked.hostname, checked.addresses[0], tls=checked.scheme == 'https',
                                   deadline=deadline)
    # The adapter is used directly: a session would read a redirect's whole body to
    # prepare the next request, even when redirects are not followed. No proxy either:
    # it would connect somewhere else than the checked address.
    prepared = requests.Request('POST', url, data=body, headers=headers).prepare()
    try:
        response = adapter.send(prepared, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), verify=True,
                                proxies={})
        try:
            excerpt = response.raw.read(RESPONSE_READ_LIMIT, decode_content=True) or b''
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as failure:
            # Reading the body goes to urllib3 directly: its errors are not requests'.
            if isinstance(failure, urllib3.exceptions.ReadTimeoutError):
                raise requests.Timeout("The answer stopped coming.") from None
            raise requests.ConnectionError(f"The answer was cut off ({type(failure).__name__}).") from None
        finally:
            response.close()
    except requests.RequestException:
        if deadline.expired:
            raise requests.Timeout(f"No complete answer within {DELIVERY_DEADLINE} seconds.") from None
        raise
    finally:
        deadline.cancel()
        adapter.close()
    if deadline.expired:
        raise requests.Timeout(f"No complete answer within {DELIVERY_DEADLINE} seconds.")
    return WebhookResponse(response.status_code, response.headers.get('Retry-After'), excerpt)
