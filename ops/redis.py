"""A redis-server of our own on 127.0.0.1: daemonized, with its pid file, log and data in one
folder.

- throwaway (`RedisServer()`, tests): a temporary folder and a free port, deleted on `stop()`.
- persistent (`RedisServer(root=Path("var/services/redis"), port=63799)`, `make services`):
  the append-only file keeps queued tasks and buffered clicks across restarts; `start()` and
  `stop()` are idempotent.

Standard library only (a RESP PING over a socket), so it runs before the venv exists.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .postgres import free_port


class RedisError(RuntimeError):
    pass


def binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise RedisError("redis-server is not installed; `apt-get install redis-server`.")
    return found


class RedisServer:
    def __init__(self, root: Path | None = None, port: int | None = None):
        self.throwaway = root is None
        self.root: Path | None = None if root is None else Path(root).resolve()
        self.port = port

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _command(self, command: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(command + b"\r\n")
            return sock.recv(64)

    def running(self) -> bool:
        if self.port is None:
            return False
        try:
            return self._command(b"PING").startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> "RedisServer":
        if self.throwaway:
            self.root = Path(tempfile.mkdtemp(prefix="streetteam-redis-"))
            self.port = free_port()
        elif self.running():
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        # appendonly: with a broker, a restart must not lose queued tasks or buffered clicks.
        persistence = ["--save", "", "--appendonly", "no" if self.throwaway else "yes"]
        command = [
            binary(),
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root)),
            *("--daemonize", "yes", "--pidfile", str(self.pidfile)),
            *("--logfile", str(self.root / "redis.log"), *persistence),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                raise RedisError(f"redis-server failed: {result.stdout}{result.stderr}")
            deadline = time.monotonic() + 10
            while not self.running():
                if time.monotonic() > deadline:
                    log = self.root / "redis.log"
                    raise RedisError(
                        f"redis-server did not answer on port {self.port} within 10 s:\n"
                        + (log.read_text()[-2000:] if log.exists() else "")
                    )
                time.sleep(0.05)
        except BaseException:
            if self.throwaway:
                self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut the server down if it runs (SHUTDOWN, else SIGTERM to the pid file's process)."""
        if self.root is None:
            return
        try:
            # Only a server that answers is ours to stop: a stale pid file may name another
            # process by now.
            if self.running():
                pid = self._pid()
                try:
                    self._command(b"SHUTDOWN")
                except OSError:
                    pass  # the server closes the connection as it exits
                if pid is not None:
                    self._wait_gone(pid)
        finally:
            if self.throwaway:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def _pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _wait_gone(pid: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
