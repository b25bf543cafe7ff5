#!/usr/bin/env bash
# Refreshes requirements.lock, which the Docker image installs from (pip --require-hashes):
# every main dependency of pyproject.toml pinned with its hashes, for the image's Python (3.11)
# and platform (Linux x86_64, glibc 2.28 or newer), plus the setuptools that builds the package.
# Needs uv (`pip install uv`); tests/test_docker_image.py checks the lock still covers
# pyproject's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "setuptools>=77" | uv pip compile pyproject.toml - \
  --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --custom-compile-command "scripts/lock.sh" --upgrade --quiet \
  --output-file requirements.lock
