"""`pip install .` alone installs every module a `helpdesk` command imports.

The walk starts at the console script pyproject declares (and the Alembic scripts `helpdesk
migrate` loads by path), follows every first-party import, at module level and inside
functions alike (each subcommand imports its own stack lazily), and collects the third-party
top-level modules on the way. Each must come from a distribution named in
[project].dependencies: one that only arrives as another's dependency (starlette through
fastapi) is missing too, since that other one may drop it. httpx was such a module: only the
test extra installed it, so `helpdesk smtp` failed on a fresh install.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
# What each subcommand runs: the walk must reach all of them, or it proves nothing.
SUBCOMMAND_MODULES = {"cli.dev", "cli.mail", "cli.embedded", "api.app", "worker", "db.migrate",
                      "adapters.email.smtp_server", "adapters.email.imap_poller",
                      "adapters.email.delivery"}


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def first_party_names() -> set[str]:
    setuptools = PYPROJECT["tool"]["setuptools"]
    packages = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    return set(setuptools["py-modules"]) | packages


def entry_modules() -> list[str]:
    scripts = [target.partition(":")[0] for target in PYPROJECT["project"]["scripts"].values()]
    migrations = PROJECT_ROOT / "db" / "migrations"
    loaded_by_alembic = [module_name(path) for path in migrations.rglob("*.py")]
    return [*scripts, *loaded_by_alembic]


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_file(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module an import statement in the file names, wherever the statement sits."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(package, node.module, node.level)
            yield base
            # `from adapters.email import delivery` imports a module, not only a name.
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def resolve_relative(package: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")
    anchor = ".".join(parts[: len(parts) - level + 1])
    return f"{anchor}.{name}" if name else anchor


def walk(entries: Iterable[str], first_party: set[str]) -> tuple[set[str], set[str]]:
    """First-party modules reached from the entries, and the third-party top-level modules
    they import."""
    reached: set[str] = set()
    third_party: set[str] = set()
    pending = list(entries)
    while pending:
        module = pending.pop()
        top = module.partition(".")[0]
        if not top or module in reached or top in sys.stdlib_module_names:
            continue
        if top not in first_party:
            third_party.add(top)
            continue
        path = source_file(module)
        if path is None:  # a name imported from a module, not a module itself
            continue
        reached.add(module)
        pending.extend(imported_names(module, path))
    return reached, third_party


@cache
def reachable() -> tuple[frozenset[str], frozenset[str]]:
    reached, third_party = walk(entry_modules(), first_party_names())
    return frozenset(reached), frozenset(third_party)


def undeclared(modules: Iterable[str], dependencies: Iterable[str]) -> dict[str, list[str]]:
    """The modules no declared distribution provides, each with the distributions that do."""
    declared = {canonical(Requirement(spec).name) for spec in dependencies}
    providers = packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = sorted({canonical(d) for d in providers.get(module, [])})
        if not declared & set(dists):
            missing[module] = dists or ["(not installed here either)"]
    return missing


def test_the_walk_reaches_every_subcommand() -> None:
    reached, _ = reachable()
    assert SUBCOMMAND_MODULES <= reached, sorted(SUBCOMMAND_MODULES - reached)


def test_every_third_party_module_comes_from_a_main_dependency() -> None:
    _, third_party = reachable()
    missing = undeclared(third_party, PYPROJECT["project"]["dependencies"])
    assert not missing, f"add to [project].dependencies (module: distributions): {missing}"


def test_a_module_only_the_test_extra_installs_is_caught() -> None:
    """The check fails where the trial failed: httpx from the test extra only."""
    _, third_party = reachable()
    without_httpx = [spec for spec in PYPROJECT["project"]["dependencies"]
                     if canonical(Requirement(spec).name) != "httpx"]

    assert undeclared(third_party, without_httpx) == {"httpx": ["httpx"]}
