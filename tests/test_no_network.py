"""The tool reaches no network: the whole demo and an audit run with every network connection
forbidden, in this process and in a fresh one (where great-expectations is imported from
scratch, with its analytics and the environment variable that turns them off left unset)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from audits.cli import main

ROOT = Path(__file__).resolve().parents[1]
NETWORK = (socket.AF_INET, socket.AF_INET6)

SITECUSTOMIZE = textwrap.dedent('''
    """Loaded at interpreter start-up (PYTHONPATH): records and refuses every network
    connection, so a test can fail on any attempt, even one a library swallows."""
    import os
    import socket

    _LOG = os.environ["NO_NETWORK_LOG"]
    _NETWORK = (socket.AF_INET, socket.AF_INET6)


    def _refuse(what, target):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{what} {target!r}\\n")
        raise OSError(f"network forbidden in tests: {what} {target!r}")


    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


    def connect(self, address):
        if self.family in _NETWORK:
            _refuse("connect", address)
        return _connect(self, address)


    def connect_ex(self, address):
        if self.family in _NETWORK:
            _refuse("connect_ex", address)
        return _connect_ex(self, address)


    def create_connection(address, *args, **kwargs):
        _refuse("create_connection", address)


    def getaddrinfo(host, *args, **kwargs):
        _refuse("getaddrinfo", host)


    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
''')


@pytest.fixture
def attempts(monkeypatch) -> list[str]:
    """Every network connection tried in this process while the test runs (each refused)."""
    tried: list[str] = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(what, target):
        tried.append(f"{what} {target!r}")
        raise OSError(f"network forbidden in tests: {what} {target!r}")

    def guarded(original, name):
        def call(self, address):
            if self.family in NETWORK:
                refuse(name, address)
            return original(self, address)
        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect, "connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex, "connect_ex"))
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *a, **k: refuse("create_connection", address))
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: refuse("getaddrinfo", host))
    return tried


def test_the_guard_catches_a_connection(attempts):
    with pytest.raises(OSError):
        socket.create_connection(("example.org", 80))
    with pytest.raises(OSError), socket.socket() as raw:
        raw.connect(("192.0.2.1", 80))
    assert len(attempts) == 2
    attempts.clear()


def test_demo_and_audit_make_no_connection_in_process(tmp_path, attempts):
    demo = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    audit = CliRunner().invoke(main, ["audit", str(tmp_path / "demo" / "sample-board"),
                                      "--out", str(tmp_path / "audit"), "--quiet"])
    assert audit.exit_code in (0, 1), audit.output
    assert (tmp_path / "audit" / "findings.json").exists()
    assert attempts == []


def test_demo_and_audit_make_no_connection_in_a_fresh_process(tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "network.log"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GX_", "GE_"))}  # the tool must turn analytics off itself
    env["PYTHONPATH"] = os.pathsep.join([str(guard), str(ROOT)])
    env["NO_NETWORK_LOG"] = str(log)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "audits.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True)

    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection("
                            "('example.org', 80))"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and log.read_text(encoding="utf-8"), "the guard must load"
    log.unlink()

    demo = run("demo", "--out", str(tmp_path / "demo"))
    assert demo.returncode == 0, demo.stderr
    audit = run("audit", str(tmp_path / "demo" / "sample-board"), "--out",
                str(tmp_path / "audit"), "--quiet")
    assert audit.returncode in (0, 1), audit.stderr
    assert (tmp_path / "audit" / "audit.html").exists()
    assert not log.exists(), log.read_text(encoding="utf-8")
