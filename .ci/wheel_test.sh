#!/usr/bin/env bash
# The installed package works on its own: build the wheel, install it into a fresh virtual
# environment, and from a folder outside the checkout score a demo recording and run the
# nightly flow over the demo manifest. The new environment takes its third-party packages from
# the project's .venv (a path entry: nothing is downloaded twice, and .venv's editable callqa
# is not seen), so only the wheel's own files can make it pass.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 \
  PREFECT_SERVER_ANALYTICS_ENABLED=false ORT_DISABLE_TELEMETRY=1 \
  PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180

.venv/bin/python -m pip wheel --quiet --no-deps -w "$WORK/dist" . 2>&1 | grep -v "^WARNING" || true
WHEEL=$(ls "$WORK"/dist/callqa-*.whl)
python3 -m venv "$WORK/venv"
.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
  > "$WORK/venv/lib/python3.11/site-packages/callqa-deps.pth"
"$WORK/venv/bin/python" -m pip install --quiet --no-deps "$WHEEL" 2>&1 | grep -v "^WARNING" || true

mkdir -p "$WORK/outside"
cp -r "$ROOT/examples" "$WORK/outside/examples"
cd "$WORK/outside"
export CALLQA_HOME="$WORK/home" PREFECT_HOME="$WORK/prefect"
unset CALLQA_CONFIG CALLQA_CLASSIFY__REGISTRY || true
"$WORK/venv/bin/python" - "$ROOT" <<'EOF'
import sys
from pathlib import Path

import pipeline
from pipeline import bundled

root = Path(sys.argv[1]).resolve()
where = Path(pipeline.__file__).resolve()
assert root not in where.parents, f"pipeline imported from the checkout: {where}"
for name in ("rubrics", "labels.yaml", "registry", "roles", "similarity", "outcomes"):
    found = bundled.path(name)
    assert not found.is_symlink() and root not in found.resolve().parents, found
print(f"installed package: {where.parent}")
EOF
"$WORK/venv/bin/callqa" score examples/calls/zh-model-call.ogg --json scorecards --quiet
test -s scorecards/zh-model-call.json
grep -q "\"classifier\"" scorecards/zh-model-call.json  # the bundled registry was found
"$WORK/venv/bin/callqa" run --manifest examples/manifest.csv | tee run.log
grep -q "scored 11, failed 0" run.log
echo "wheel test: the installed package scored the demo calls from $WORK/outside"
