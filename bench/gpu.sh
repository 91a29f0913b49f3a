#!/bin/sh
# gan-vk against PyTorch CUDA on one GPU: both presets at batch 64 and 256,
# the same step (1 D update + 2 G updates) on synthetic data, fp32 on both
# sides (TF32 off in PyTorch). Needs a built gan-vk (./build.sh builds
# bin/gan-vk), a Vulkan loader and driver, and python3 with CUDA PyTorch.
#
#	bench/gpu.sh [OUTDIR]
#
# Each run's output goes to OUTDIR (default bench/out), and a summary table
# to the terminal.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench/out}
bin=${GAN_VK:-bin/gan-vk}
steps=${STEPS:-50}
mkdir -p "$out"

"$bin" devices | tee "$out/devices.txt"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee "$out/nvidia-smi.txt"

for preset in dcgan28 dcgan64; do
	for batch in 64 256; do
		"$bin" bench --preset $preset --batch $batch --steps "$steps" --warmup 5 --json >"$out/ganvk-$preset-$batch.json"
		python3 pytorch/bench.py --device cuda --preset $preset --batch $batch --steps "$steps" --warmup 5 --json \
			>"$out/torch-$preset-$batch.json"
	done
	"$bin" bench --preset $preset --batch 64 --steps 10 --profile >"$out/ganvk-$preset-64-profile.txt"
done

python3 - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
print(f"{'preset':8} {'batch':>5} {'gan-vk img/s':>13} {'PyTorch img/s':>14} {'ratio':>6}  {'gan-vk GFLOP/s':>14} {'PyTorch GFLOP/s':>15}")
for preset in ("dcgan28", "dcgan64"):
    for batch in (64, 256):
        g = json.load(open(os.path.join(out, f"ganvk-{preset}-{batch}.json")))
        t = json.load(open(os.path.join(out, f"torch-{preset}-{batch}.json")))
        print(f"{preset:8} {batch:5} {g['images_per_s']:13.1f} {t['images_per_s']:14.1f} {g['images_per_s'] / t['images_per_s']:6.2f}"
              f"  {g['gflop_per_s']:14.1f} {t['gflop_per_s']:15.1f}")
EOF
