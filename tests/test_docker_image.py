"""The Docker image, checked without a Docker daemon: its files make a working package, and it
installs exactly what requirements.lock pins.

The image once failed every command because logs.py was never copied in. Here the Dockerfile's
COPY lines are followed into a temporary directory, the package is built from there the way
the image builds it, and each entry point is imported, and `helpdesk migrate` run, from that
build alone: the checkout is not on the path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from tests.test_dependencies import SUBCOMMAND_MODULES, canonical

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
LOCK = PROJECT_ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
ENTRY_MODULES = sorted({*SUBCOMMAND_MODULES, "cli.main", "settings", "logs"})
BUILD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    words = (json.loads(instruction.arguments) if instruction.arguments.startswith("[")
             else shlex.split(instruction.arguments))
    paths = [word for word in words if not word.startswith("--")]
    return paths[:-1], paths[-1]


def build_context_copy(into: Path) -> list[str]:
    """Lay out what the Dockerfile's COPY lines put in WORKDIR; the sources, in order."""
    copied = []
    for instruction in instructions(DOCKERFILE.read_text()):
        if instruction.keyword != "COPY":
            continue
        assert "--from" not in instruction.arguments, "a multi-stage COPY: teach this test"
        sources, destination = copy_sources(instruction)
        target = into / destination
        for source in sources:
            origin = PROJECT_ROOT / source
            if origin.is_dir():  # Docker copies a directory's contents into the destination
                shutil.copytree(origin, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                if destination.endswith("/"):  # a file into a directory, made if need be
                    target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name if target.is_dir() else target)
            copied.append(source)
    return copied


def build_and_unpack(app: Path, into: Path) -> Path:
    """`pip install --no-deps --no-build-isolation .` as the image runs it, as a wheel that is
    unpacked into a directory of its own."""
    wheels = into / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(wheels), str(app)],
                   check=True, timeout=BUILD_TIMEOUT_SECONDS, capture_output=True)
    [wheel] = wheels.glob("helpdesk-*.whl")
    site = into / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


IMPORT_ALL = """
import importlib, sys
site = sys.argv[1]
for name in sys.argv[2:]:
    module = importlib.import_module(name)
    assert module.__file__.startswith(site), (name, module.__file__)
from cli.main import main
sys.exit(main(["migrate"]))
"""


@pytest.fixture(scope="module")
def image_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image")
    build_context_copy(root / "app")
    return build_and_unpack(root / "app", root)


def test_every_entry_point_imports_and_migrate_runs_from_the_image_files_alone(
    image_site: Path, database_url: str, tmp_path: Path
) -> None:
    # -S: no site-packages processing, so the editable install of this checkout is not on the
    # path; the dependencies' directories are added by hand, after the image's package.
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": database_url,
           "PYTHONPATH": os.pathsep.join([str(image_site), *sorted(dependencies)])}
    done = subprocess.run([sys.executable, "-S", "-c", IMPORT_ALL, str(image_site),
                           *ENTRY_MODULES], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT_SECONDS)

    assert done.returncode == 0, done.stderr[-3000:]


def test_the_package_built_from_the_image_files_carries_its_license_and_readme(
    image_site: Path
) -> None:
    # setuptools only warns when either file is missing, and builds without it.
    [dist_info] = image_site.glob("helpdesk-*.dist-info")
    metadata = (dist_info / "METADATA").read_text()
    licenses = [path.name for path in (dist_info / "licenses").glob("*")]

    assert "License-Expression: Apache-2.0" in metadata
    assert licenses == ["LICENSE"]
    assert "## Set up" in metadata  # README.md, as the long description


def test_the_image_copies_every_top_level_module_the_package_declares() -> None:
    copied = build_sources()
    py_modules = PYPROJECT["tool"]["setuptools"]["py-modules"]
    assert {f"{module}.py" for module in py_modules} <= set(copied), copied


def build_sources() -> list[str]:
    return [source for instruction in instructions(DOCKERFILE.read_text())
            if instruction.keyword == "COPY" for source in copy_sources(instruction)[0]]


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(.*)$", line)
        if match:
            pins[canonical(match[1])] = (match[2], re.findall(r"--hash=(\S+)", match[3]))
    return pins


def extra_requirements(requirement: Requirement) -> set[str]:
    """What `name[extra]` adds, for the image's platform (Linux, the lock's Python)."""
    try:
        declared = requires(requirement.name) or []
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is not installed here to read its extras")
    image = {key: str(value) for key, value in default_environment().items()}
    image |= {"python_version": "3.11", "sys_platform": "linux"}
    found = set()
    for spec in map(Requirement, declared):
        for extra in requirement.extras:
            if spec.marker is not None and spec.marker.evaluate(image | {"extra": extra}):
                found.add(canonical(spec.name))
    return found


def test_the_lock_pins_every_main_dependency_with_hashes_within_its_range() -> None:
    pins = locked()
    requirements = [Requirement(spec) for spec in PYPROJECT["project"]["dependencies"]]
    for requirement in requirements:
        name = canonical(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock.sh"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
        assert hashes, f"{name} has no hash"
        missing = extra_requirements(requirement) - set(pins)
        assert not missing, f"{requirement} needs {sorted(missing)}: run scripts/lock.sh"
    assert all(hashes for _, hashes in pins.values())


def test_the_lock_holds_the_build_backend_the_image_builds_with() -> None:
    version, _ = locked()["setuptools"]
    [backend] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert backend.specifier.contains(version)


def test_the_image_installs_from_the_lock_on_the_python_it_was_locked_for() -> None:
    steps = instructions(DOCKERFILE.read_text())
    runs = " ".join(step.arguments for step in steps if step.keyword == "RUN")
    assert "--require-hashes" in runs and "-r requirements.lock" in runs
    assert "requirements.lock" in build_sources()
    [base] = [step.arguments for step in steps if step.keyword == "FROM"]
    lock_script = (PROJECT_ROOT / "scripts" / "lock.sh").read_text()
    python = re.search(r"--python-version (\S+)", lock_script)
    assert python and base.startswith(f"python:{python[1]}-"), (base, lock_script)


def test_the_image_runs_as_a_user_and_checks_the_api_health() -> None:
    steps = instructions(DOCKERFILE.read_text())
    [user] = [step.arguments for step in steps if step.keyword == "USER"]
    [health] = [step.arguments for step in steps if step.keyword == "HEALTHCHECK"]
    assert user not in ("root", "0")
    assert "/healthz" in health and "urllib" in health
