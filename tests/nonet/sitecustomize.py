"""Block outbound network connections in test processes (loaded by Python at start-up when this folder is on PYTHONPATH).

Active only when GIFT_NB_NO_NETWORK=1: any connect to a host other than the loopback, and any name lookup of one,
raises `OSError` saying that the network is blocked, so code that would download (a hub model, data) fails loudly
instead of passing only on machines that happen to be online. tests/conftest.py sets both for every test process."""
import os, socket

_LOCAL = {'localhost', '127.0.0.1', '::1', '0.0.0.0', ''}

def _is_local(host) -> bool:
    return host is None or str(host) in _LOCAL or str(host).startswith('127.')

def _blocked(what):
    raise OSError(f"network access is blocked in the tests (GIFT_NB_NO_NETWORK=1): {what}; "
                  "gift_nb must work offline (local files, shipped weights, HF_HUB_OFFLINE=1)")

def block_network():
    "Patch socket so that only loopback connections and lookups succeed (idempotent)."
    if getattr(socket, '_gift_nb_blocked', False): return
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
    def _addr_ok(self, address):
        return self.family == getattr(socket, 'AF_UNIX', None) or not isinstance(address, tuple) or _is_local(address[0])
    def guarded_connect(self, address):
        if not _addr_ok(self, address): _blocked(f"connect to {address!r}")
        return connect(self, address)
    def guarded_connect_ex(self, address):
        if not _addr_ok(self, address): _blocked(f"connect to {address!r}")
        return connect_ex(self, address)
    def guarded_getaddrinfo(host, *a, **k):
        if not _is_local(host if not isinstance(host, bytes) else host.decode()): _blocked(f"name lookup of {host!r}")
        return getaddrinfo(host, *a, **k)
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = guarded_connect, guarded_connect_ex, guarded_getaddrinfo
    socket._gift_nb_blocked = True

if os.environ.get('GIFT_NB_NO_NETWORK') == '1': block_network()
