"""Run the app as production runs it, on this machine: gunicorn, a Celery worker on every queue
and Celery beat, against PostgreSQL and Redis, with DEBUG=false. One foreground command; Ctrl-C
(or SIGTERM) stops all three, and if any one of them exits the others are stopped too.

    python -m ops.run_prod --port 8000      # what `make run-prod` runs
    python -m ops.run_prod --no-services    # use DATABASE_URL, CELERY_BROKER_URL... as given

Before serving: `ops.services start` (unless --no-services), migrate, collectstatic (WhiteNoise
serves the result), seed_demo (unless --no-seed). Production settings need a few values a
laptop doesn't have, so anything unset gets a local default, printed at start:

- SECRET_KEY: generated once and kept in var/secret_key (mode 600);
- SECURE_SSL_REDIRECT=false: loopback serves plain HTTP, there is no TLS proxy in front;
- ALLOWED_HOSTS, SITE_URL: 127.0.0.1 and localhost on the chosen port;
- STREETTEAM_SANDBOX_STORE=true: the demo shop, so the loop can be tried without Stripe.

Cookies stay `Secure` as in production: browsers accept them from http://127.0.0.1 and
http://localhost (a secure context), curl's cookie jar does not.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kernel.secret_file import secret_from_file

from .services import SERVICES_DIR, Services

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
# Must match config/celery.py's QUEUES (tests/prod checks they agree).
QUEUES = ("clicks", "webhooks", "payouts", "default")
STOP_SECONDS = 20


def local_production_env(*, port: int, var: Path, base: dict[str, str]) -> dict[str, str]:
    """Production settings for a run on loopback: what `base` doesn't set gets a local default."""
    env = dict(base)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secret_from_file(var / "secret_key")
    env["DEBUG"] = "false"
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    env.setdefault("CSRF_TRUSTED_ORIGINS", f"http://127.0.0.1:{port},http://localhost:{port}")
    env.setdefault("STREETTEAM_SANDBOX_STORE", "true")
    env.setdefault("WEB_CONCURRENCY", "2")  # gunicorn's worker count
    env.setdefault("CELERY_WORKER_CONCURRENCY", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def process_commands(
    *, python: str, port: int, var: Path, host: str = "127.0.0.1"
) -> dict[str, list[str]]:
    """The three long-running processes, as a deployment's process manager would run them."""
    return {
        "web": [
            *(python, "-m", "gunicorn", "config.wsgi"),
            *("--bind", f"{host}:{port}", "--access-logfile", "-", "--graceful-timeout", "15"),
        ],
        "worker": [
            *(python, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(QUEUES)),
            *("--loglevel", "INFO", "--hostname", f"streetteam-{port}@%h"),
        ],
        "beat": [
            *(python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"),
            *("--schedule", str(var / f"celerybeat-schedule-{port}")),
        ],
    }


class Supervisor:
    """Start named processes, prefix their output with their name, stop them all together.

    Each child leads its own process group, so stopping reaches gunicorn's and Celery's own
    children too, and a Ctrl-C in the terminal reaches only us: we stop them in order."""

    def __init__(self, env: dict[str, str], cwd: Path = BASE_DIR):
        self.env = env
        self.cwd = cwd
        self.processes: dict[str, subprocess.Popen] = {}
        self._printers: list[threading.Thread] = []
        self._width = 6

    def start(self, name: str, command: list[str]) -> None:
        process = subprocess.Popen(  # noqa: S603 (our own fixed command lines)
            command,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.processes[name] = process
        printer = threading.Thread(target=self._print, args=(name, process), daemon=True)
        printer.start()
        self._printers.append(printer)

    def _print(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            sys.stdout.write(f"{name:<{self._width}} | {line}")
            sys.stdout.flush()

    def wait(self) -> int:
        """Block until one process exits (or we are told to stop); its exit code, or 0."""
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the others")
                    return process.returncode or 1
            time.sleep(0.2)

    def stop(self) -> None:
        # The leaders only: gunicorn's master and Celery's main process stop their own children
        # gracefully (a signal to the whole group would kill those mid-request).
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
            # Whatever the leader left behind in its group.
            self._signal(process, signal.SIGKILL)
        for printer in self._printers:
            printer.join(timeout=2)

    @staticmethod
    def _signal(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.run_prod", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address gunicorn binds")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-services",
        action="store_true",
        help="use DATABASE_URL, CELERY_BROKER_URL... from the environment",
    )
    parser.add_argument("--no-seed", action="store_true", help="skip loading the demo data")
    parser.add_argument("--var", type=Path, default=VAR_DIR, help="secret key and beat schedule")
    args = parser.parse_args(argv)

    base = dict(os.environ)
    if not args.no_services:
        services = Services.load(SERVICES_DIR)
        services.start()
        base.update(services.env())
    if not base.get("DATABASE_URL") or not base.get("CELERY_BROKER_URL"):
        parser.error("DATABASE_URL and CELERY_BROKER_URL are needed (or drop --no-services)")
    env = local_production_env(port=args.port, var=args.var, base=base)
    shown = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "STREETTEAM_CLICK_BUFFER_URL")
    for key in (*shown, "SITE_URL", "SECURE_SSL_REDIRECT", "STREETTEAM_SANDBOX_STORE"):
        print(f"  {key}={env.get(key, '')}")

    manage = [sys.executable, "manage.py"]
    steps = [["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]]
    if not args.no_seed:
        steps.append(["seed_demo"])
    for step in steps:
        if subprocess.call([*manage, *step], cwd=BASE_DIR, env=env) != 0:  # noqa: S603
            print(f"manage.py {' '.join(step)} failed", file=sys.stderr)
            return 1

    supervisor = Supervisor(env)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    code = 0
    try:
        for name, command in process_commands(
            python=sys.executable, port=args.port, var=args.var, host=args.host
        ).items():
            supervisor.start(name, command)
        print(f"Serving on http://{args.host}:{args.port}/ (Ctrl-C stops web, worker and beat)")
        code = supervisor.wait()
    except KeyboardInterrupt:
        print("Stopping web, worker and beat...")
    finally:
        supervisor.stop()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
