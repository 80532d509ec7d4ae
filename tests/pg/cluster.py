"""A throwaway PostgreSQL cluster for the test suite: initdb into a temporary folder, serve on a
free loopback port (and a unix socket in the same folder), trust authentication for the
`postgres` superuser, durability off for speed; `stop()` shuts it down and deletes the folder.

    with Cluster() as pg:
        os.environ["DATABASE_URL"] = pg.url

Run as root (CI), initdb and pg_ctl run as the `postgres` system user, which owns the folder;
run as anyone else, they run as that user. PG_BINDIR overrides where the binaries are found
(default: the newest /usr/lib/postgresql/*/bin, else initdb on PATH).
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SPEED = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class ClusterError(RuntimeError):
    pass


def bindir() -> Path:
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterError("PostgreSQL is not installed (no initdb); `apt-get install postgresql`.")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self):
        self.root: Path | None = None
        self.port: int | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(bindir() / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        # cwd: the postgres user may not be allowed into the caller's working directory.
        result = subprocess.run(  # noqa: S603 (fixed binaries, our own arguments)
            command, cwd=self.root, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            raise ClusterError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}{log.read_text() if log.exists() else ''}"
            )
        return result

    def start(self) -> "Cluster":
        self.root = Path(tempfile.mkdtemp(prefix="streetteam-pg-"))
        try:
            if self._as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            for attempt in range(5):
                self.port = free_port()
                try:
                    self._run(
                        "pg_ctl",
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.root / "server.log"),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-c listen_addresses=127.0.0.1 -p {self.port} "
                        f"-c unix_socket_directories={self.root} {SPEED}",
                        "start",
                    )
                    break
                except ClusterError:
                    if attempt == 4:  # the port was taken between probing and binding: retry
                        raise
        except BaseException:
            self._remove()
            raise
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
                except ClusterError:
                    self._kill()
        finally:
            self._remove()

    def _kill(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            time.sleep(2)

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
