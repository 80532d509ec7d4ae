"""The services production needs, on this machine: PostgreSQL and Redis on loopback, their data
under var/services/ in the project (gitignored), started and stopped by one command.

    python -m ops.services start     # idempotent: what runs is left running
    python -m ops.services status
    eval "$(python -m ops.services env)"   # DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, ...
    python -m ops.services stop      # idempotent: keeps the data; `rm -rf var/services` drops it

`make services` / `make services-stop` run these. Ports: --pg-port (default 54329) and
--redis-port (default 63799), remembered in var/services/ports.json so `env`, `status` and
`stop` find what `start` started. One Redis serves three roles, each in its own database: the
Celery broker (0), the cache (1) and the click buffer (2).
"""

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from .postgres import Cluster, ClusterError
from .redis import RedisError, RedisServer

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICES_DIR = BASE_DIR / "var" / "services"
DATABASE = "streetteam"
PG_PORT = 54329
REDIS_PORT = 63799


@dataclass
class Services:
    root: Path
    pg_port: int
    redis_port: int

    @classmethod
    def load(cls, root: Path, pg_port: int | None = None, redis_port: int | None = None):
        """The ports given, else the ones `start` remembered, else the defaults."""
        saved = {}
        if (root / "ports.json").exists():
            saved = json.loads((root / "ports.json").read_text())
        return cls(
            root=root,
            pg_port=pg_port or saved.get("postgres", PG_PORT),
            redis_port=redis_port or saved.get("redis", REDIS_PORT),
        )

    @property
    def postgres(self) -> Cluster:
        return Cluster(root=self.root / "postgres", port=self.pg_port)

    @property
    def redis(self) -> RedisServer:
        return RedisServer(root=self.root / "redis", port=self.redis_port)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # 0755: when run as root, the postgres user must be able to reach its own folder below.
        self.root.chmod(0o755)
        postgres = self.postgres.start()
        # A cluster already running keeps its port: stop it first to move it.
        self.pg_port = postgres.port
        postgres.create_database(DATABASE)
        self.redis.start()
        (self.root / "ports.json").write_text(
            json.dumps({"postgres": self.pg_port, "redis": self.redis_port})
        )

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()

    def status(self) -> dict[str, bool]:
        return {"postgres": self.postgres.running(), "redis": self.redis.running()}

    def env(self) -> dict[str, str]:
        redis = self.redis
        return {
            "DATABASE_URL": self.postgres.url_for(DATABASE),
            "CELERY_BROKER_URL": redis.url(0),
            "CACHE_URL": redis.url(1),
            "STREETTEAM_CLICK_BUFFER_URL": redis.url(2),
        }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.services", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["start", "stop", "status", "env"])
    parser.add_argument("--dir", type=Path, default=SERVICES_DIR, help="data folder")
    parser.add_argument("--pg-port", type=int, help=f"PostgreSQL port (default {PG_PORT})")
    parser.add_argument("--redis-port", type=int, help=f"Redis port (default {REDIS_PORT})")
    args = parser.parse_args(argv)
    services = Services.load(args.dir.resolve(), args.pg_port, args.redis_port)
    try:
        if args.command == "start":
            services.start()
            print(
                f"PostgreSQL on 127.0.0.1:{services.pg_port} (database {DATABASE}), "
                f"Redis on 127.0.0.1:{services.redis_port}; data in {services.root}"
            )
        elif args.command == "stop":
            services.stop()
            print(f"PostgreSQL and Redis stopped (data kept in {services.root})")
        elif args.command == "status":
            state = services.status()
            for name, up in state.items():
                print(f"{name}: {'running' if up else 'stopped'}")
            return 0 if all(state.values()) else 3
        else:
            for key, value in services.env().items():
                print(f"export {key}={shlex.quote(value)}")
    except (ClusterError, RedisError) as exc:
        print(f"ops.services {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
