"""A PostgreSQL cluster of our own on loopback, from the system's binaries: no system service, no
password, nothing outside its folder.

Two uses, one class:

- throwaway (`Cluster()`, the test suite): initdb into a temporary folder, serve on a free port
  with durability off for speed; `stop()` shuts it down and deletes the folder.

      with Cluster() as pg:
          os.environ["DATABASE_URL"] = pg.url

- persistent (`Cluster(root=Path("var/services/postgres"), port=54329)`, `make services`): initdb
  once, then `start()` and `stop()` are idempotent and keep the data.

Run as root (CI, containers), initdb and pg_ctl run as the `postgres` system user, which owns the
folder (PostgreSQL refuses to run as root); run as anyone else, they run as that user. Trust
authentication for the `postgres` superuser, on 127.0.0.1 and a unix socket in the folder only.
PG_BINDIR overrides where the binaries are found (default: the newest
/usr/lib/postgresql/*/bin, else initdb on PATH).
"""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# Tests only: a crash loses the cluster anyway, so don't pay for durability.
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
    def __init__(self, root: Path | None = None, port: int | None = None):
        self.throwaway = root is None
        self.root: Path | None = None if root is None else Path(root).resolve()
        self.port: int | None = port
        self._as_postgres = os.geteuid() == 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url_for(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(bindir() / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        # cwd: the postgres user may not be allowed into the caller's working directory.
        result = subprocess.run(  # noqa: S603 (fixed binaries, our own arguments)
            command, cwd=self.root, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}{self.log.read_text() if self.log.exists() else ''}"
            )
        return result

    def _make_root(self) -> None:
        if self.throwaway:
            self.root = Path(tempfile.mkdtemp(prefix="streetteam-pg-"))
        else:
            self.root.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            os.chmod(self.root, 0o700)
            # The postgres user must reach the folder: every folder above it searchable.
            probe = ["runuser", "-u", "postgres", "--", "test", "-w", str(self.root)]
            reachable = subprocess.run(probe, check=False)  # noqa: S603 (fixed command)
            if reachable.returncode != 0:
                raise ClusterError(
                    f"the postgres user cannot enter {self.root}: every folder above it must "
                    "be searchable by others (chmod o+x), or set --dir elsewhere"
                )

    def running(self) -> bool:
        if self.root is None or not (self.data / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def start(self) -> "Cluster":
        """Start the cluster (initdb first if there is none); a running one is left as it is."""
        if not self.throwaway and self.running():
            self.port = self._running_port() or self.port
            return self
        self._make_root()
        try:
            if not (self.data / "PG_VERSION").exists():
                self._run(
                    "initdb",
                    "-D",
                    str(self.data),
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--locale=C",
                    *(["--no-sync"] if self.throwaway else []),
                )
            # A throwaway cluster probes for a free port and retries if it was taken between
            # probing and binding; a persistent one has its fixed port and says when it is busy.
            attempts = 5 if self.port is None else 1
            for attempt in range(attempts):
                if self.throwaway and attempts > 1:
                    self.port = free_port()
                try:
                    self._pg_ctl_start()
                    break
                except ClusterError:
                    if attempt == attempts - 1:
                        raise
        except BaseException:
            if self.throwaway:
                self._remove()
            raise
        return self

    def _pg_ctl_start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
        )
        if self.throwaway:
            options += f" {SPEED}"
        self._run(
            "pg_ctl",
            *("-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options),
            "start",
        )

    def _running_port(self) -> int | None:
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ...
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return None

    def create_database(self, name: str) -> None:
        """Create the database unless it exists (as the `postgres` superuser, over TCP)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ClusterError(f"not a plain database name: {name!r}")
        found = self._run(
            "psql",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"),
            *("-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"),  # noqa: S608 (checked above)
        )
        if found.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def stop(self) -> None:
        """Stop the cluster if it runs; a throwaway one is deleted, a persistent one kept."""
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
                except ClusterError:
                    self._kill()
        finally:
            if self.throwaway:
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
