"""The SSRF guard on webhook URLs, with a stubbed resolver: CI has no DNS."""

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import CheckedUrl, EngineError, UnsafeWebhookUrl, check_webhook_url, is_public_address

PUBLIC_V4 = '93.184.215.14'

PRIVATE_ADDRESSES = [
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '192.0.2.1',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    'ff0e::1',
    '2001:db8::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '2002:7f00:1::1',
    '2002:a9fe:a9fe::1',
    '64:ff9b::7f00:1',
    '64:ff9b::a00:1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b:1::808:808',
    # Non-global IPv6 that Python 3.11's is_global lets through.
    '8000::1',
    '5f00::1',
    '::ffff:0:7f00:1',
    'fec0::1',
    '3fff::1',
    '2001::1',
    '2001:2::1',
    '198.51.100.7',
    '203.0.113.7',
    '192.0.0.8',
    '192.88.99.1',
]
PUBLIC_ADDRESSES = [
    '8.8.8.8',
    '1.1.1.1',
    PUBLIC_V4,
    '2001:4860:4860::8888',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '2002:808:808::1',
    '64:ff9b::808:808',
]


def stub_resolver(table):
    """Return a resolver answering from ``table`` (name -> addresses), like getaddrinfo."""

    def resolve(hostname, port):
        if hostname not in table:
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        return list(table[hostname])

    return resolve


def check(url, addresses=(PUBLIC_V4,), **kwargs):
    """Check ``url`` with every host name resolving to ``addresses``."""
    return check_webhook_url(url, resolver=lambda hostname, port: list(addresses), **kwargs)


# Addresses

@pytest.mark.parametrize('address', PRIVATE_ADDRESSES)
def test_non_public_addresses(address):
    assert not is_public_address(address)
    if '%' not in address:
        assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize('address', PUBLIC_ADDRESSES)
def test_public_addresses(address):
    assert is_public_address(address)
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize('value', ['', 'example.com', '256.0.0.1', None, 2130706433])
def test_what_is_not_an_ip_address_is_not_public(value):
    assert not is_public_address(value)


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_mapped_and_nat64_forms_are_judged_alike(address):
    mapped = ipaddress.IPv6Address(f'::ffff:{address}')
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address('64:ff9b::')) | int(address))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    expected = is_public_address(address)
    assert is_public_address(mapped) == expected
    assert is_public_address(nat64) == expected
    assert is_public_address(sixtofour) == expected


def _ipv4_rule(address):
    """The IPv4 rule, restated on integers: outside every special-purpose block."""
    value = int(address)
    blocks = [(0x00000000, 8), (0x0A000000, 8), (0x64400000, 10), (0x7F000000, 8), (0xA9FE0000, 16),
              (0xAC100000, 12), (0xC0000000, 24), (0xC0000200, 24), (0xC0586300, 24), (0xC0A80000, 16),
              (0xC6120000, 15), (0xC6336400, 24), (0xCB007100, 24), (0xE0000000, 4), (0xF0000000, 4)]
    return all(value >> (32 - length) != start >> (32 - length) for start, length in blocks)


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_is_public_when_it_is_in_no_special_purpose_block(address):
    assert is_public_address(address) == _ipv4_rule(address)


@given(st.ip_addresses(v=6))
def test_a_public_ipv6_address_is_global_unicast_or_carries_a_public_ipv4_address(address):
    if not is_public_address(address):
        return
    first_bits = int(address) >> 125
    carried = address.ipv4_mapped or address.sixtofour or (
        ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if int(address) >> 32 in (0, 0x64FF9B0000000000000000)
        else None)
    assert first_bits == 0b001 or (carried is not None and _ipv4_rule(carried))
    assert int(address) >> 96 != 0x20010DB8, "documentation"
    assert int(address) >> 108 != 0x3FFF0, "documentation"


# URLs

def test_a_public_https_url_is_accepted():
    checked = check_webhook_url(
        'https://hooks.example.com/fusion/events?tenant=7#ignored',
        resolver=stub_resolver({'hooks.example.com': ['8.8.8.8', '2001:4860:4860::8888']}),
    )
    assert checked == CheckedUrl(
        scheme='https',
        hostname='hooks.example.com',
        port=443,
        path_and_query='/fusion/events?tenant=7',
        addresses=('8.8.8.8', '2001:4860:4860::8888'),
    )


def test_the_resolver_gets_the_host_and_port_and_its_order_is_kept():
    calls = []

    def resolve(hostname, port):
        calls.append((hostname, port))
        return ['2001:4860:4860::8888', '8.8.8.8', '8.8.8.8']

    checked = check_webhook_url('https://Hooks.Example.com:8443', resolver=resolve)
    assert calls == [('hooks.example.com', 8443)]
    assert checked.port == 8443
    assert checked.path_and_query == '/'
    assert checked.addresses == ('2001:4860:4860::8888', '8.8.8.8')


def test_an_unusual_spelling_of_a_public_address_is_normalised():
    assert check('https://example.com/', ['2001:4860:4860:0:0:0:0:8888']).addresses == ('2001:4860:4860::8888',)


@pytest.mark.parametrize('url', ['http://example.com/hook', 'ftp://example.com/', 'file:///etc/passwd',
                                 'gopher://example.com/', 'example.com/hook', '//example.com/hook'])
def test_only_https_is_accepted(url):
    with pytest.raises(UnsafeWebhookUrl, match="must use https"):
        check(url)


@pytest.mark.parametrize('url', ['https://localhost/hook', 'https://LOCALHOST./hook', 'https://api.localhost/',
                                 'https://a.b.LocalHost:8443/'])
def test_localhost_is_refused_whatever_it_resolves_to(url):
    with pytest.raises(UnsafeWebhookUrl, match="must not point to localhost"):
        check(url, ['8.8.8.8'])


@pytest.mark.parametrize('address', PRIVATE_ADDRESSES)
def test_a_host_resolving_to_a_non_public_address_is_refused(address):
    with pytest.raises(UnsafeWebhookUrl, match=r"points to a private or reserved address \(") as error:
        check('https://hooks.example.com/', [address])
    assert str(error.value).endswith(f"({ipaddress.ip_address(address)}).")


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    resolver = stub_resolver({'rebind.example.com': ['8.8.8.8', '10.0.0.1']})
    with pytest.raises(UnsafeWebhookUrl, match=r"\(10\.0\.0\.1\)"):
        check_webhook_url('https://rebind.example.com/', resolver=resolver)


@pytest.mark.parametrize('address', ['8.8.8.8', '2001:4860:4860::8888'])
def test_public_addresses_are_accepted(address):
    assert check('https://hooks.example.com/', [address]).addresses == (address,)


@pytest.mark.parametrize('name', ['2130706433', '0x7f.1', '0177.0.0.1', '127.1'])
def test_numeric_host_names_are_judged_by_what_they_resolve_to(name):
    resolver = stub_resolver({name: ['127.0.0.1']})
    with pytest.raises(UnsafeWebhookUrl, match=r"\(127\.0\.0\.1\)"):
        check_webhook_url(f'https://{name}/hook', resolver=resolver)


@pytest.mark.parametrize('url, address', [
    ('https://127.0.0.1/', '127.0.0.1'),
    ('https://169.254.169.254/latest/meta-data/', '169.254.169.254'),
    ('https://[::1]/', '::1'),
    ('https://[::ffff:127.0.0.1]:8443/', '::ffff:7f00:1'),
])
def test_address_literals_are_checked_like_names(url, address):
    resolver = stub_resolver({'127.0.0.1': ['127.0.0.1'], '169.254.169.254': ['169.254.169.254'],
                              '::1': ['::1'], '::ffff:127.0.0.1': ['::ffff:127.0.0.1']})
    with pytest.raises(UnsafeWebhookUrl, match=f"private or reserved address \\({address}\\)"):
        check_webhook_url(url, resolver=resolver)


def test_a_bracketed_ipv6_literal_is_handed_to_the_resolver_without_brackets():
    checked = check_webhook_url('https://[2001:4860:4860::8888]/hook',
                                resolver=stub_resolver({'2001:4860:4860::8888': ['2001:4860:4860::8888']}))
    assert checked.hostname == '2001:4860:4860::8888'


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeWebhookUrl, match="host does not resolve"):
        check_webhook_url('https://nowhere.invalid/', resolver=stub_resolver({}))


@pytest.mark.parametrize('error', [UnicodeError('label too long'), OSError('timed out')])
def test_a_resolver_failure_means_the_host_does_not_resolve(error):
    def resolve(hostname, port):
        raise error

    with pytest.raises(UnsafeWebhookUrl, match="host does not resolve"):
        check_webhook_url('https://example.com/', resolver=resolve)


@pytest.mark.parametrize('answer', [[], None])
def test_a_name_resolving_to_nothing_is_refused(answer):
    with pytest.raises(UnsafeWebhookUrl, match="does not resolve to any address"):
        check_webhook_url('https://example.com/', resolver=lambda hostname, port: answer)


def test_a_resolver_answer_that_is_not_an_address_is_refused():
    with pytest.raises(UnsafeWebhookUrl, match="not an IP address"):
        check('https://example.com/', ['example.net'])


@pytest.mark.parametrize('url', ['https://user:hunter2@example.com/', 'https://user@example.com/',
                                 'https://@example.com/', 'https://example.com@10.0.0.1/'])
def test_user_names_and_passwords_are_refused(url):
    with pytest.raises(UnsafeWebhookUrl, match="user name or password") as error:
        check(url)
    assert 'hunter2' not in str(error.value)


@pytest.mark.parametrize('url', ['https:///hook', 'https://:443/hook', 'https://?x=1'])
def test_a_host_is_required(url):
    with pytest.raises(UnsafeWebhookUrl, match="must name a host"):
        check(url)


@pytest.mark.parametrize('url', ['https://example.com:0/', 'https://example.com:65536/',
                                 'https://example.com:99999/', 'https://example.com:abc/',
                                 'https://example.com:-1/', 'https://example.com:１２/'])
def test_a_bad_port_is_refused(url):
    with pytest.raises(UnsafeWebhookUrl, match="port must be a number from 1 to 65535"):
        check(url)


@pytest.mark.parametrize('url', ['https://[::1/', 'https://[example.com]/'])
def test_a_malformed_url_is_refused(url):
    with pytest.raises(UnsafeWebhookUrl, match="not a valid URL"):
        check(url)


@pytest.mark.parametrize('url', ['https://exa mple.com/', 'https://example.com/\n', 'https://example.com\t/',
                                 'https://example.com/a\x00b', 'https://good.example\\@evil.example/',
                                 ' https://example.com/'])
def test_spaces_backslashes_and_control_characters_are_refused(url):
    with pytest.raises(UnsafeWebhookUrl, match="spaces, backslashes or control characters"):
        check(url)


def test_a_url_longer_than_2048_characters_is_refused():
    url = 'https://example.com/' + 'a' * (2048 - len('https://example.com/'))
    assert check(url).hostname == 'example.com'
    with pytest.raises(UnsafeWebhookUrl, match="at most 2048 characters"):
        check(url + 'a')


@pytest.mark.parametrize('url', ['', '   ', None, b'https://example.com/'])
def test_a_url_is_required(url):
    with pytest.raises(UnsafeWebhookUrl, match="A webhook URL is required"):
        check(url)


def test_the_refusal_is_an_engine_error_with_a_sentence():
    with pytest.raises(EngineError) as error:
        check('http://example.com/')
    assert str(error.value) == "The webhook URL must use https."


# Development mode

def test_allow_private_lets_a_local_http_receiver_through_and_pins_its_address():
    checked = check_webhook_url('http://127.0.0.1:8080/x', resolver=stub_resolver({'127.0.0.1': ['127.0.0.1']}),
                                allow_private=True)
    assert checked == CheckedUrl('http', '127.0.0.1', 8080, '/x', ('127.0.0.1',))


def test_allow_private_lets_localhost_through_on_the_default_http_port():
    checked = check_webhook_url('http://localhost/hook', resolver=stub_resolver({'localhost': ['::1', '127.0.0.1']}),
                                allow_private=True)
    assert checked.port == 80
    assert checked.addresses == ('::1', '127.0.0.1')


def test_allow_private_still_needs_http_or_https_and_a_resolving_host():
    with pytest.raises(UnsafeWebhookUrl, match="must use https"):
        check('ftp://127.0.0.1/', allow_private=True)
    with pytest.raises(UnsafeWebhookUrl, match="user name or password"):
        check('http://user:pass@127.0.0.1/', allow_private=True)
    with pytest.raises(UnsafeWebhookUrl, match="does not resolve"):
        check_webhook_url('http://nowhere.invalid/', resolver=stub_resolver({}), allow_private=True)


# The system resolver, with getaddrinfo stubbed

def fake_getaddrinfo(table):
    """Return a getaddrinfo answering from ``table`` (name -> addresses), offline."""

    def getaddrinfo(host, port, **options):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        assert options == {'type': socket.SOCK_STREAM}
        answers = []
        for address in table[host]:
            if ':' in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, '', (address, port, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, '', (address, port)))
        return answers

    return getaddrinfo


def test_the_system_resolver_gives_each_address_once_in_order(monkeypatch):
    monkeypatch.setattr(socket, 'getaddrinfo', fake_getaddrinfo(
        {'hooks.example.com': ['8.8.8.8', '2001:4860:4860::8888', '8.8.8.8']}))
    checked = check_webhook_url('https://hooks.example.com/')
    assert checked.addresses == ('8.8.8.8', '2001:4860:4860::8888')


def test_the_system_resolver_turns_numeric_names_into_addresses_that_are_checked(monkeypatch):
    monkeypatch.setattr(socket, 'getaddrinfo', fake_getaddrinfo({'2130706433': ['127.0.0.1']}))
    with pytest.raises(UnsafeWebhookUrl, match=r"\(127\.0\.0\.1\)"):
        check_webhook_url('https://2130706433/')


def test_a_name_the_system_resolver_does_not_know_is_refused(monkeypatch):
    monkeypatch.setattr(socket, 'getaddrinfo', fake_getaddrinfo({}))
    with pytest.raises(UnsafeWebhookUrl, match="host does not resolve"):
        check_webhook_url('https://nowhere.invalid/')
