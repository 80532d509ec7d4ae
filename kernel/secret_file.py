"""A random secret generated once per install and kept in a file (mode 600).

Used for the SECRET_KEY of a development run (config/settings.py) and of a local production run
(ops/run_prod.py): never a constant in the repository, which would let anyone forge the signed
links and cookies of any install that forgot to set one.
"""

import os
import secrets
from pathlib import Path


def secret_from_file(path: Path) -> str:
    """The secret in `path`, generated there first if the file doesn't exist yet.

    The file appears whole or not at all (written beside it, then linked into place), so two
    processes starting together agree on one secret.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another process was first: use its secret
        finally:
            draft.unlink()
    return path.read_text().strip()
