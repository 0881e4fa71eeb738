"""The one place Fusion Billing sends HTTP requests out: webhook deliveries.

A delivery goes to the address that the SSRF guard checked, never to a second DNS
answer (a name re-resolved between the check and the connection could point anywhere),
while TLS still verifies the certificate against the host name. Redirects are not
followed, both timeouts are short, and at most a few kilobytes of the answer are read.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from . import engine
from .engine.webhooks import CONNECT_TIMEOUT, READ_TIMEOUT, RESPONSE_READ_LIMIT


@dataclass(frozen=True)
class WebhookResponse:
    """What the receiver answered: status code, ``Retry-After`` header, start of the body."""

    status: int
    retry_after: str | None
    body: bytes


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to ``address`` whatever the URL's host, keeping the host for the
    ``Host`` header, for TLS's SNI and for checking the certificate."""

    def __init__(self, hostname, address, tls):
        self.hostname = hostname
        self.address = address
        self.tls = tls
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        if self.tls:
            pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        return super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

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
    with requests.Session() as session:
        # Proxies from the environment would connect somewhere else than the checked address.
        session.trust_env = False
        session.mount(f'{checked.scheme}://', PinnedAddressAdapter(
            checked.hostname, checked.addresses[0], tls=checked.scheme == 'https'))
        response = session.post(url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                allow_redirects=False, stream=True)
        try:
            excerpt = response.raw.read(RESPONSE_READ_LIMIT, decode_content=True) or b''
        finally:
            response.close()
        return WebhookResponse(response.status_code, response.headers.get('Retry-After'), excerpt)
