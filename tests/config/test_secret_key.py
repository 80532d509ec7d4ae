"""With DEBUG on and SECRET_KEY unset, each install generates its own key into var/.

The key used to be a constant in the repository: anyone could forge the verification links and
signed cookies of an install started without SECRET_KEY."""

import ast
from pathlib import Path

from django.conf import settings

from kernel.secret_file import secret_from_file

SETTINGS_FILE = Path(settings.BASE_DIR) / "config" / "settings.py"


def test_two_installs_generate_different_keys_each_kept_for_its_install(tmp_path):
    first, second = tmp_path / "one" / "var", tmp_path / "two" / "var"
    key = secret_from_file(first / "secret_key")
    assert len(key) >= 50
    assert key != secret_from_file(second / "secret_key")
    assert secret_from_file(first / "secret_key") == key  # kept across restarts
    assert (first / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in first.iterdir()] == ["secret_key"]  # no draft left behind


def test_the_settings_hold_no_constant_secret_key():
    tree = ast.parse(SETTINGS_FILE.read_text())
    assigned = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(target, "id", None) == "SECRET_KEY" for target in node.targets)
    ]
    assert assigned
    assert not any(isinstance(value, ast.Constant) for value in assigned)
    assert "dev-only-insecure-key" not in SETTINGS_FILE.read_text()


def test_a_development_run_without_secret_key_uses_its_installs_generated_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DEBUG", "true")
    namespace = {"__file__": str(SETTINGS_FILE), "__name__": "settings_under_test"}
    exec(compile(SETTINGS_FILE.read_text(), str(SETTINGS_FILE), "exec"), namespace)  # noqa: S102
    generated = Path(settings.BASE_DIR) / "var" / "secret_key"
    assert namespace["SECRET_KEY"] == generated.read_text().strip()
