#!/bin/sh
# gan-vk and PyTorch side by side: the same models, the same step (1 D update
# + 2 G updates) on synthetic data already on the device, fp32 on both sides.
#
#	bench/compare.sh cpu  [OUTDIR]   lavapipe against PyTorch on the CPU (all cores)
#	bench/compare.sh cuda [OUTDIR]   the Vulkan GPU against PyTorch CUDA, with TF32 off (fp32, like
#	                                 for like) and on (PyTorch's default for convolutions)
#
# Needs a built gan-vk (./build.sh builds bin/gan-vk; GAN_VK=path overrides),
# and python3 with torch (Debian: python3-torch; for cuda, a CUDA build).
# Each run's output goes to OUTDIR (default bench/out), a summary table to
# the terminal. STEPS sets the timed steps (default: 20 on cuda; on cpu 20
# for dcgan28 and 5 for dcgan64, whose step takes seconds there); TILE, if
# set, is passed to gan-vk bench --tile.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-}
out=${2:-bench/out}
bin=${GAN_VK:-bin/gan-vk}
tile=${TILE:+--tile $TILE}
case $mode in
cpu) batches="64" python=${PYTHON:-/usr/bin/python3} ;;
cuda) batches="64 256" python=${PYTHON:-python3} ;;
*) echo "usage: bench/compare.sh cpu|cuda [OUTDIR]" >&2; exit 2 ;;
esac
mkdir -p "$out"
"$bin" devices >"$out/devices.txt"
[ "$mode" = cuda ] && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv >"$out/nvidia-smi.txt"
[ "$mode" = cpu ] && grep -m1 "model name" /proc/cpuinfo >"$out/cpu.txt"

for preset in dcgan28 dcgan64; do
	steps=${STEPS:-20}
	warmup=5
	if [ "$mode" = cpu ] && [ "$preset" = dcgan64 ]; then
		steps=${STEPS:-5}
		warmup=2
	fi
	for batch in $batches; do
		echo "gan-vk $preset batch $batch" >&2
		"$bin" bench $tile --preset $preset --batch $batch --steps "$steps" --warmup $warmup --json >"$out/ganvk-$preset-$batch.json"
		echo "PyTorch $preset batch $batch" >&2
		"$python" pytorch/bench.py --device $mode --preset $preset --batch $batch --steps "$steps" --warmup $warmup --json \
			>"$out/torch-$preset-$batch.json"
		if [ "$mode" = cuda ]; then
			echo "PyTorch $preset batch $batch, TF32 on" >&2
			"$python" pytorch/bench.py --device $mode --tf32 --preset $preset --batch $batch --steps "$steps" --warmup $warmup --json \
				>"$out/torch-tf32-$preset-$batch.json"
		fi
	done
	if [ "$mode" = cuda ]; then
		"$bin" bench $tile --preset $preset --batch 64 --steps 10 --profile >"$out/ganvk-$preset-64-profile.txt"
	fi
done

"$python" - "$out" "$batches" <<'PY'
import json, os, sys
out, batches = sys.argv[1], [int(b) for b in sys.argv[2].split()]
tf32 = os.path.exists(os.path.join(out, f"torch-tf32-dcgan28-{batches[0]}.json"))
head = f"{'preset':8} {'batch':>5} {'gan-vk img/s':>13} {'PyTorch img/s':>14} {'ratio':>6}  {'gan-vk GFLOP/s':>14} {'PyTorch GFLOP/s':>15}"
print(head + (f" {'TF32 img/s':>11} {'ratio':>6}" if tf32 else ""))
for preset in ("dcgan28", "dcgan64"):
    for batch in batches:
        g = json.load(open(os.path.join(out, f"ganvk-{preset}-{batch}.json")))
        t = json.load(open(os.path.join(out, f"torch-{preset}-{batch}.json")))
        line = (f"{preset:8} {batch:5} {g['images_per_s']:13.1f} {t['images_per_s']:14.1f} {g['images_per_s'] / t['images_per_s']:6.2f}"
                f"  {g['gflop_per_s']:14.1f} {t['gflop_per_s']:15.1f}")
        if tf32:
            x = json.load(open(os.path.join(out, f"torch-tf32-{preset}-{batch}.json")))
            line += f" {x['images_per_s']:11.1f} {g['images_per_s'] / x['images_per_s']:6.2f}"
        print(line)
PY
