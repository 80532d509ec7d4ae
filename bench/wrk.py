"""Running wrk (Debian's `wrk`) against the bench server and reading its summary."""

import re
import shutil
import subprocess
from dataclasses import dataclass

_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    bad_responses: int  # answers that were not 2xx or 3xx
    connect_errors: int
    timeouts: int

    @property
    def clean(self) -> bool:
        """Every request got a 2xx/3xx answer: a figure made of errors measures nothing.

        Read and write socket errors are not counted: a sync gunicorn worker closes each
        connection after its answer, which wrk may report as a read error on reconnect."""
        return self.bad_responses == 0 and self.connect_errors == 0 and self.timeouts == 0


def parse(output: str) -> WrkResult:
    """The figures of one wrk run from its text summary; WrkError if it isn't one."""
    requests, rate = _REQUESTS.search(output), _RATE.search(output)
    if requests is None or rate is None:
        raise WrkError(f"unexpected wrk output:\n{output}")
    bad = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    connect, _read, _write, timeouts = (int(n) for n in socket.groups()) if socket else (0,) * 4
    return WrkResult(
        requests=int(requests.group(1)),
        seconds=float(requests.group(2)) * _UNIT_SECONDS[requests.group(3)],
        requests_per_second=float(rate.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        connect_errors=connect,
        timeouts=timeouts,
    )


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    binary = shutil.which("wrk")
    if binary is None:
        raise WrkError("wrk is not installed (make system-deps installs it).")
    command = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(  # noqa: S603 (Debian's wrk, our own arguments)
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if result.returncode != 0:
        raise WrkError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    return parse(result.stdout)
