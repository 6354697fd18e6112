#!/usr/bin/env bash
# Resolves pyproject.toml's pinned dependencies into full lock files in two scratch virtualenvs.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/run" && "$tmp/run/bin/pip" install -q --disable-pip-version-check .
"$tmp/run/bin/pip" freeze --exclude-editable | grep -v '^hotline' > requirements.lock
python3 -m venv "$tmp/dev" && "$tmp/dev/bin/pip" install -q --disable-pip-version-check '.[dev]'
"$tmp/dev/bin/pip" freeze --exclude-editable | grep -v '^hotline' > requirements-dev.lock
echo "wrote requirements.lock ($(wc -l < requirements.lock) pins), requirements-dev.lock ($(wc -l < requirements-dev.lock) pins)"
