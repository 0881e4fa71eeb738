"""The SSRF guard: which webhook URLs Fusion Billing may send requests to.

A webhook URL is chosen by whoever configures a service, and the server sends
requests to it, so it must not reach the server's own network: localhost,
private ranges, cloud metadata (169.254.169.254) and the like. The check
returns the addresses it approved, and the delivery connects to one of
those, so a second DNS answer cannot send the request elsewhere.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from .exceptions import EngineError

WEBHOOK_URL_MAX_LENGTH = 2048
DEFAULT_PORTS = {'https': 443, 'http': 80}

# IPv6 prefixes that carry an IPv4 address in their last 32 bits, which is
# where the request really goes: NAT64's well-known prefix (RFC 6052), and
# the deprecated IPv4-compatible form ::a.b.c.d (RFC 4291).
_NAT64_PREFIX = ipaddress.ip_network('64:ff9b::/96')
_IPV4_COMPATIBLE_PREFIX = ipaddress.ip_network('::/96')
# NAT64 prefix for local use (RFC 8215): it translates into networks the
# operator chooses, so it is never public. Python 3.11 calls it global.
_LOCAL_NAT64_PREFIX = ipaddress.ip_network('64:ff9b:1::/48')

# The rule is written out here rather than read from the interpreter: what Python's
# ipaddress calls private or global differs between patch releases of the same version
# (Debian 12's 3.11.2 lists 2002::/16 as private, later 3.11s call 5f00::/16 global).
# IPv4: everything but IANA's special-purpose, shared, multicast and reserved blocks.
_IPV4_NOT_PUBLIC = tuple(ipaddress.ip_network(block) for block in (
    '0.0.0.0/8',          # "this network"
    '10.0.0.0/8',         # private
    '100.64.0.0/10',      # shared address space (CGNAT)
    '127.0.0.0/8',        # loopback
    '169.254.0.0/16',     # link-local, cloud metadata
    '172.16.0.0/12',      # private
    '192.0.0.0/24',       # IETF protocol assignments
    '192.0.2.0/24',       # documentation
    '192.88.99.0/24',     # 6to4 relay anycast (deprecated)
    '192.168.0.0/16',     # private
    '198.18.0.0/15',      # benchmarking
    '198.51.100.0/24',    # documentation
    '203.0.113.0/24',     # documentation
    '224.0.0.0/4',        # multicast
    '240.0.0.0/4',        # reserved, broadcast
))
# IPv6: only global unicast (2000::/3), minus its special-purpose blocks.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network('2000::/3')
_IPV6_NOT_PUBLIC = tuple(ipaddress.ip_network(block) for block in (
    '2001::/23',          # IETF protocol assignments (Teredo, ORCHID, benchmarking...)
    '2001:db8::/32',      # documentation
    '2002::/16',          # 6to4 (judged by the IPv4 address it carries, see below)
    '3fff::/20',          # documentation
))


class UnsafeWebhookUrl(EngineError):
    """A webhook URL the server must not send requests to; the message says why."""


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL that passed the guard, split into what a delivery needs.

    ``addresses`` are the IP addresses the host resolved to, all approved, in
    the resolver's order: the delivery connects to one of them.
    """

    scheme: str
    hostname: str
    port: int
    path_and_query: str
    addresses: tuple


def embedded_ipv4(address):
    """Return the IPv4 address an IPv6 ``address`` carries, or None.

    Covers IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002::/16), NAT64
    (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses: packets to
    them end up at that IPv4 address, so it is the one to judge.
    """
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_PREFIX or address in _IPV4_COMPATIBLE_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address):
    """Return True when ``address`` (text or ipaddress object) is a public unicast address.

    Loopback, private, link-local, CGNAT, multicast, reserved, documentation
    and unspecified addresses are not public, nor is text that is not an IP
    address. IPv6 forms that carry an IPv4 address are judged by that address.
    """
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address)
        except ValueError:
            return False
    if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return False
    if address.version == 6 and address in _LOCAL_NAT64_PREFIX:
        return False
    address = embedded_ipv4(address) or address
    if address.version == 4:
        return not any(address in block for block in _IPV4_NOT_PUBLIC)
    return address in _IPV6_GLOBAL_UNICAST and not any(address in block for block in _IPV6_NOT_PUBLIC)


def resolve_host(hostname, port):
    """Return the IP addresses ``hostname`` resolves to, as text, de-duplicated, in order.

    Uses the system resolver, which also turns numeric forms such as
    ``2130706433`` or ``0x7f.1`` into addresses. Raises UnsafeWebhookUrl when
    the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeWebhookUrl("The webhook URL's host does not resolve.") from None
    return list(dict.fromkeys(
        info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)
    ))


def check_webhook_url(url, resolver=None, allow_private=False):
    """Return ``url`` as a CheckedUrl when the server may send webhooks to it.

    The URL must be https, name a host other than localhost, carry no user
    name or password, and every address the host resolves to must be public.
    ``resolver(hostname, port)`` returns the addresses as text (the system
    resolver by default). ``allow_private``, for tests and development only,
    lets http, localhost and non-public addresses through. Raises
    UnsafeWebhookUrl with a sentence saying what is wrong.
    """
    parts = _split_url(url)
    scheme = parts.scheme
    if scheme != 'https' and not (allow_private and scheme == 'http'):
        raise UnsafeWebhookUrl("The webhook URL must use https.")
    # Credentials in a URL end up in logs and error messages, and
    # "https://trusted@evil/" is a classic way to mislead whoever reads it.
    if '@' in parts.netloc:
        raise UnsafeWebhookUrl("The webhook URL must not contain a user name or password.")
    hostname = parts.hostname
    if not hostname:
        raise UnsafeWebhookUrl("The webhook URL must name a host.")
    port = _port(parts)
    if _is_localhost(hostname) and not allow_private:
        raise UnsafeWebhookUrl("The webhook URL must not point to localhost.")
    addresses = _resolve(resolver or resolve_host, hostname, port)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise UnsafeWebhookUrl(
                    f"The webhook URL points to a private or reserved address ({address})."
                )
    path_and_query = parts.path or '/'
    if parts.query:
        path_and_query += '?' + parts.query
    return CheckedUrl(scheme, hostname, port, path_and_query, addresses)


def _split_url(url):
    """Return ``url`` split by urllib, refusing what is not a plain, short URL."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeWebhookUrl("A webhook URL is required.")
    if len(url) > WEBHOOK_URL_MAX_LENGTH:
        raise UnsafeWebhookUrl(f"The webhook URL must be at most {WEBHOOK_URL_MAX_LENGTH} characters long.")
    # urllib silently drops tabs and newlines and keeps other control
    # characters, and HTTP libraries and browsers read a backslash as a slash
    # or not: either way the URL checked would not be the URL requested.
    if any(_is_unsafe_character(character) for character in url):
        raise UnsafeWebhookUrl("The webhook URL must not contain spaces, backslashes or control characters.")
    try:
        return urlsplit(url)
    except ValueError:
        # e.g. an unclosed "[" or a bracketed host that is not an IPv6 address.
        raise UnsafeWebhookUrl("The webhook URL is not a valid URL.") from None


def _is_unsafe_character(character):
    """Return True for whitespace, a backslash or a control character."""
    return character.isspace() or character == '\\' or ord(character) < 0x20 or ord(character) == 0x7F


def _port(parts):
    """Return the port of the split URL ``parts``, or the default of its scheme."""
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        return DEFAULT_PORTS[parts.scheme]
    # urllib accepts port 0, which no server listens on.
    if not 1 <= port <= 65535:
        raise UnsafeWebhookUrl("The webhook URL's port must be a number from 1 to 65535.")
    return port


def _is_localhost(hostname):
    """Return True for ``localhost`` and its subdomains, whatever the case or trailing dot."""
    name = hostname.lower().rstrip('.')
    return name == 'localhost' or name.endswith('.localhost')


def _resolve(resolver, hostname, port):
    """Return the addresses ``resolver`` gives for the host, normalised and de-duplicated.

    Raises UnsafeWebhookUrl when the name does not resolve, resolves to
    nothing, or resolves to something that is not an IP address.
    """
    try:
        answers = resolver(hostname, port)
    except (OSError, UnicodeError):
        raise UnsafeWebhookUrl("The webhook URL's host does not resolve.") from None
    addresses = []
    for answer in answers or ():
        try:
            address = str(ipaddress.ip_address(answer))
        except ValueError:
            raise UnsafeWebhookUrl("The webhook URL's host resolves to something that is not an IP address.") from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeWebhookUrl("The webhook URL's host does not resolve to any address.")
    return tuple(addresses)
