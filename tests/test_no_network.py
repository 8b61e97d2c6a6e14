"The tests run offline: outbound connections and lookups fail loudly (tests/nonet), here and in subprocesses; loopback works."
import os, socket, subprocess, sys
import pytest

def test_outbound_blocked_here():
    with pytest.raises(OSError, match='network access is blocked'): socket.create_connection(('example.com', 80), timeout=1)
    with pytest.raises(OSError, match='network access is blocked'): socket.getaddrinfo('huggingface.co', 443)
    with pytest.raises(OSError, match='network access is blocked'):
        with socket.socket() as s: s.connect(('93.184.216.34', 80))

def test_loopback_allowed():
    with socket.socket() as srv:
        srv.bind(('127.0.0.1', 0)); srv.listen(1)
        with socket.create_connection(srv.getsockname(), timeout=2): pass

def test_subprocesses_inherit_the_block():
    code = "import socket\ntry: socket.create_connection(('example.com', 80), timeout=1)\nexcept OSError as e: print(e)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert 'network access is blocked' in r.stdout, r.stdout + r.stderr
