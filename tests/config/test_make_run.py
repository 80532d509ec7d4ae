"""`make run PORT=…`: the demo's share links, QR codes and printed logins use the port it serves
on, not the default 8000 (SITE_URL is handed to seed_demo and runserver)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dry_run(*args: str, site_url: str | None = None) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.fail("`make` is not installed", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "MAKEFLAGS", "MAKELEVEL"}}
    if site_url:
        env["SITE_URL"] = site_url
    # -n prints the commands without running them; -o skips the venv install step.
    result = subprocess.run(  # noqa: S603 (make with our own fixed arguments)
        [make, "-n", "-o", ".venv/.installed", "run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def _command(lines: list[str], needle: str) -> str:
    return next(line for line in lines if needle in line)


def test_make_run_on_another_port_gives_the_demo_that_ports_site_url():
    lines = _dry_run("PORT=8123")
    assert _command(lines, "seed_demo").startswith("SITE_URL=http://127.0.0.1:8123 ")
    runserver = _command(lines, "runserver")
    assert runserver.startswith("SITE_URL=http://127.0.0.1:8123 ")
    assert runserver.endswith("runserver 127.0.0.1:8123")


def test_make_run_on_every_interface_links_to_loopback():
    runserver = _command(_dry_run("HOST=0.0.0.0", "PORT=8200"), "runserver")
    assert runserver.startswith("SITE_URL=http://127.0.0.1:8200 ")
    assert runserver.endswith("runserver 0.0.0.0:8200")


def test_an_explicit_site_url_wins_over_the_port():
    lines = _dry_run("PORT=8123", site_url="https://refer.example.com")
    assert _command(lines, "seed_demo").startswith("SITE_URL=https://refer.example.com ")
    assert _command(lines, "runserver").startswith("SITE_URL=https://refer.example.com ")
