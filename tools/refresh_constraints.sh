#!/usr/bin/env bash
# Re-resolve constraints.txt: a fresh virtualenv, the unpinned test install, the tests, then the freeze.
# Run by .github/workflows/refresh-constraints.yml every week; commit the result when the tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q -e ".[test]"
"$venv/bin/ruff" check .
"$venv/bin/pytest" -q -n 2
{
  sed -n '1,3p' constraints.txt
  "$venv/bin/pip" freeze --exclude-editable
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt refreshed: $(grep -c '==' constraints.txt) pins"
