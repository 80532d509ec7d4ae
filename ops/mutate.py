"""`make mutate`: mutmut over the money code, its score and its survivors' triage.

    python -m ops.mutate                 # run (results are cached per mutant), then report
    python -m ops.mutate --report        # report the last run only
    python -m ops.mutate NAME...         # re-run the named mutants only, then report
    python -m ops.mutate --survivors     # re-run the last run's survivors (after new tests)

mutmut's configuration is `[tool.mutmut]` in pyproject.toml (the modules, the tests). Two things it
cannot do alone, done here on a copy of the repository in var/mutate (the working tree is never
touched):

- mutmut 3 leaves decorated functions alone, and most money services are `@transaction.atomic`.
  In the copy, `@transaction.atomic` above a top-level function becomes `name =
  transaction.atomic(name)` below it: the same object under the same name, which mutmut mutates.
- Functions that move no money (attribution, notifications, PostgreSQL-only SQL that the SQLite
  tests cannot reach) are fenced with mutmut's `# pragma: no mutate start/end` (SKIP, with reasons).

Each mutant session copies one migrated database instead of migrating
(tests/mutation/template_db.py).
The report is the score per module and every survivor with its triage from docs/mutation.md; the
command fails while a survivor has none.
"""

import argparse
import ast
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "var" / "mutate"
TRIAGE = ROOT / "docs" / "mutation.md"
MUTMUT = Path(sys.executable).with_name("mutmut")

# (module, function): why it is not mutated.
SKIP = {
    ("referrals/services/orders.py", "_code_for_attribution"): "attribution, no amount",
    ("referrals/services/orders.py", "_within_window"): "attribution window, no amount",
    ("referrals/services/orders.py", "resolve_attribution"): "attribution, no amount",
    ("referrals/services/orders.py", "order_warnings"): "warning texts for the manager",
    ("referrals/services/commissions.py", "_notify"): "email to the advocate",
    ("referrals/payouts/services/payouts.py", "_notify_payout"): "email to the advocate",
    ("referrals/payouts/services/build.py", "_build_postgresql"): "PostgreSQL only (tests/pg)",
    ("referrals/payouts/services/build.py", "_set_local"): "PostgreSQL only (tests/pg)",
}


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def _tracked_files() -> list[str]:
    # git from PATH is fine for a developer's command (bandit B607, ruff S607).
    out = subprocess.run(  # noqa: S603  # nosec B607
        ["git", "ls-files", "-co", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in out.splitlines() if (ROOT / name).is_file()]


def _rewrite(source: str, module: str) -> str:
    """Undecorate top-level `@transaction.atomic` functions and fence the SKIP ones."""
    lines = source.splitlines()
    inserts: list[tuple[int, str]] = []  # (index before which to insert, line)
    drops: set[int] = set()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        if [ast.unparse(d) for d in node.decorator_list] == ["transaction.atomic"]:
            drops.add(node.decorator_list[0].lineno - 1)
            wrap = f"{node.name} = transaction.atomic({node.name})  # pragma: no mutate"
            inserts.append((node.end_lineno, wrap))
        if (module, node.name) in SKIP:
            inserts.append((first, "# pragma: no mutate start"))
            inserts.append((node.end_lineno, "# pragma: no mutate end"))
    out = []
    for index, line in enumerate(lines + [""]):
        out.extend(text for at, text in inserts if at == index)
        if index not in drops and index < len(lines):
            out.append(line)
    return "\n".join(out) + "\n"


def stage() -> None:
    """Bring var/mutate up to date with the working tree, changing only files that changed."""
    modules = set(_config()["only_mutate"])
    for name in _tracked_files():
        src, dst = ROOT / name, STAGE / name
        if name in modules:
            text = _rewrite(src.read_text(), name)
            if not dst.exists() or dst.read_text() != text:
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(text)
        elif not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def run(names: list[str]) -> None:
    env = dict(os.environ)
    template = STAGE / "mutation-template.sqlite3"
    template.unlink(missing_ok=True)  # the migrations may have changed: migrate once per run
    env["STREETTEAM_MUTATION_DB"] = str(template)
    env["STREETTEAM_MONEY_EXAMPLES"] = str(_config().get("money_examples", 20))
    env.pop("DATABASE_URL", None)
    children = str(os.cpu_count() or 1)
    command = [MUTMUT, "run", "--max-children", children, *names]
    subprocess.run(command, cwd=STAGE, env=env)  # noqa: S603 (our venv's mutmut, mutant names)


def _triage() -> dict[str, str]:
    rows = {}
    for line in TRIAGE.read_text().splitlines():
        match = re.match(r"\|\s*`([\w.ǁ]+__mutmut_\d+)`\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


DONE = ("killed", "not checked")  # every other verdict is a survivor to triage


def _status() -> dict[str, str]:
    """mutant name -> mutmut's verdict (killed, survived, no tests, timeout, ...)."""
    out = subprocess.run(  # noqa: S603
        [MUTMUT, "results", "--all", "true"], cwd=STAGE, capture_output=True, text=True, check=True
    ).stdout
    status = {}
    for line in out.splitlines():
        match = re.match(r"\s*([\w.ǁ]+__mutmut_\d+): (.+)$", line)
        if match:
            status[match.group(1)] = match.group(2).strip()
    return status


def report() -> int:
    status = _status()
    triage = _triage()
    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, verdict in status.items():
        module = name.split(".x_")[0].split(".xǁ")[0]
        by_module[module][verdict] += 1
    print("\nScore per module: killed / checked (an equivalent mutant counts as not killed)")
    total = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        total.update(counts)
        checked = sum(counts.values()) - counts["not checked"]
        print(f"  {module:42} {counts['killed']:4} / {checked:4}  {dict(sorted(counts.items()))}")
    checked = sum(total.values()) - total["not checked"]
    waiting = total["not checked"]
    print(f"  {'all':42} {total['killed']:4} / {checked:4}  ({waiting} not checked yet)")
    survivors = sorted(name for name, verdict in status.items() if verdict not in DONE)
    untriaged = [name for name in survivors if name not in triage]
    print(f"\nSurvivors ({len(survivors)}), triage from {TRIAGE.relative_to(ROOT)}:")
    for name in survivors:
        print(f"  {name} [{status[name]}]: {triage.get(name, 'NOT TRIAGED')}")
    print(f"\n`cd {STAGE.relative_to(ROOT)} && {MUTMUT.name} show NAME` prints a mutant's diff.")
    return 1 if untriaged or waiting else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report the last run only")
    parser.add_argument("--survivors", action="store_true", help="re-run the last survivors")
    parser.add_argument("names", nargs="*", help="mutants to re-run (default: all)")
    args = parser.parse_args()
    if not args.report:
        names = args.names
        if args.survivors:
            names = [name for name, verdict in _status().items() if verdict not in DONE]
        stage()
        run(names)
    return report()


if __name__ == "__main__":
    sys.exit(main())
