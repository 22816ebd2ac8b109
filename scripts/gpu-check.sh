#!/usr/bin/env bash
# GPU check (issue 11): run on a machine with an NVIDIA GPU, from the repository root or anywhere.
#   scripts/gpu-check.sh                 # bench train (fp32, bf16, pipelined) + a 5-minute bench race
#   RACE_MINUTES=10 scripts/gpu-check.sh
# Learner on the GPU (--device cuda), rollout workers on the CPU cores. Prints every figure as
# JSON lines plus the race's lap-time curve. Exits non-zero when no GPU is visible to torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v .venv/bin/python || command -v python3)}
SLIPSTREAM=("$PYTHON" -m slipstream.cli)
RACE_MINUTES=${RACE_MINUTES:-5}
RACE_TRACK=${RACE_TRACK:-reInvent2019_track}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
for dir in "${SLIPSTREAM_TRACKS:-}" shared/tracks ../shared/tracks; do
  if [ -n "$dir" ] && [ -f "$dir/$RACE_TRACK.npy" ]; then export SLIPSTREAM_TRACKS="$dir"; break; fi
done

echo "== device"
"$PYTHON" - <<'PY'
import sys
import torch
from slipstream.rl.precision import autocast_dtype, cpu_has_native_bf16
from slipstream.rollout.threads import available_cores
print(f"torch {torch.__version__}, cuda {torch.version.cuda}, cores {available_cores()}, "
      f"cpu native bf16 {cpu_has_native_bf16()}")
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: this check needs a GPU")
print(f"gpu {torch.cuda.get_device_name(0)}, bf16 supported {torch.cuda.is_bf16_supported()}, "
      f"auto precision -> {autocast_dtype('auto', torch.device('cuda'))}")
PY

echo "== tests that have a CUDA variant"
"$PYTHON" -m pytest -q -p no:cacheprovider tests/test_rl_precision.py

echo "== bench train (learner on cuda, DRfC defaults)"
for precision in fp32 bf16; do
  "${SLIPSTREAM[@]}" bench train --device cuda --precision "$precision" --json
done
"${SLIPSTREAM[@]}" bench train --device cuda --pipeline --json

echo "== bench race: $RACE_TRACK, $RACE_MINUTES minutes, pipelined, learner on cuda"
if ! "$PYTHON" -c "from slipstream.tracks import load_track; load_track('$RACE_TRACK')" 2>/dev/null; then
  echo "track $RACE_TRACK not found (set SLIPSTREAM_TRACKS); racing on slipstream_technical instead"
  RACE_TRACK=slipstream_technical
fi
"${SLIPSTREAM[@]}" bench race --track "$RACE_TRACK" --minutes "$RACE_MINUTES" --device cuda --pipeline
