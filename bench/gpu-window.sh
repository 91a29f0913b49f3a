#!/usr/bin/env bash
# bench/gpu-window.sh — what a lent GPU should measure, in one run that ends
# by its deadline and leaves its results even when cut off:
#
#	./build.sh gpu-kit                      # here: the binaries, loader and validation layer
#	OUT=DIR [DEADLINE=510] bash bench/gpu-window.sh
#
# The steps, most valuable first: the devices; gan-vk bench of both presets
# at batch 64 with the heuristic's kernels; PyTorch CUDA with TF32 off
# (fp32, like for like) and on (its default for convolutions); dcgan64 with
# the 11-27 kernels for comparison; the per-pass profiles; the layer and whole-step tests under the validation
# layer; gan-vk tune --budget on dcgan64 at batch 64, then the tuned bench
# and profile; batch 256 of both presets. Each step runs under a time limit
# of its own, cut to what is left before the deadline (DEADLINE seconds
# from the start, 510 by default: a GPU is lent for minutes, at most 10 a
# command); a step with too little time left is skipped. After every step
# the results are packed again into OUT/gpu-window.tar.gz (steps.tsv: each
# step's status and seconds; summary.md: the table; each step's output), so
# whatever stops the script, the archive holds every step finished so far.
#
# On a CPU device (lavapipe) it is a dry run: the same steps, under the same
# names, on small models (width 4, batch 8 for both batches, a few steps:
# the driver's shader cache then serves the later steps), PyTorch on the CPU
# where python3
# has torch (Debian's python3-torch), so every command is rehearsed in a
# minute or two. docs/benchmarks.md,
# its GPU window section, says how to run it on a lent GPU.
#
# KIT (default .gpu-kit) is ./build.sh gpu-kit's folder; PYTHON runs
# pytorch/bench.py (default python3 on a GPU, /usr/bin/python3 in a dry run,
# which skips PyTorch's steps where it has no torch) and makes the table.
set -u
cd "$(dirname "$0")/.."
start=$(date +%s)
deadline=$((start + ${DEADLINE:-510}))
reserve=5 # seconds kept for the last packing
kit=$(cd "${KIT:-.gpu-kit}" 2>/dev/null && pwd) || { echo "gpu-window: no kit at ${KIT:-.gpu-kit}: run ./build.sh gpu-kit first" >&2; exit 2; }
[[ -n ${OUT:-} ]] || { echo "gpu-window: set OUT to the folder the archive goes to" >&2; exit 2; }
mkdir -p "$OUT"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
res=$work/results
mkdir -p "$res" "$work/vklayer"

# The Vulkan loader where the machine has none, the libraries gan-vk links
# against, the validation layer the tests run under, and the NVIDIA driver
# where the loader would not find it by itself.
export LD_LIBRARY_PATH=$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
	export LD_LIBRARY_PATH=$kit/loader:$LD_LIBRARY_PATH
fi
gunzip -c "$kit/vklayer/libVkLayer_khronos_validation.so.gz" >"$work/vklayer/libVkLayer_khronos_validation.so"
cp "$kit/vklayer/VkLayer_khronos_validation.json" "$work/vklayer/"
export VK_LAYER_PATH=$work/vklayer
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [[ -z ${VK_DRIVER_FILES:-} && -f $nv ]]; then
	export VK_DRIVER_FILES=$nv
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$work}
# One cache folder for every step: the driver's shader cache carries over
# from step to step, and gan-vk's tuning cache starts empty. The tune step
# adds only dcgan64's passes at batch 64, so the benches after it run the
# heuristic's kernels on every other shape (in a dry run the 256 rows have
# the 64 rows' shapes, and dcgan64's is tuned). Mesa's shader cache stays
# where it was, so a dry run reuses what the tests compiled.
export MESA_SHADER_CACHE_DIR=${MESA_SHADER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesa_shader_cache}
export XDG_CACHE_HOME=$work/cache
ganvk=$kit/gan-vk

pack() {
	tar -czf "$OUT/.gpu-window.tar.gz" -C "$work" results && mv "$OUT/.gpu-window.tar.gz" "$OUT/gpu-window.tar.gz"
}

# skip NAME CAP WHY records a step not run.
skip() {
	printf '%s\tskipped: %s\t0\t0\t%d\n' "$1" "$3" "$2" >>"$res/steps.tsv"
	echo "gpu-window: $1 skipped: $3" >&2
}

# step NAME CAP CMD...: runs CMD with its output in NAME.txt, for at most
# CAP seconds or what is left before the deadline, and records the outcome.
printf 'step\tstatus\tseconds\tlimit\tcap\n' >"$res/steps.tsv"
step() {
	local name=$1 cap=$2 left limit t0 rc status
	shift 2
	left=$((deadline - reserve - $(date +%s)))
	limit=$((cap < left ? cap : left))
	if ((limit < 5)); then
		skip "$name" "$cap" "no time left"
		return
	fi
	echo "gpu-window: $name (at most ${limit}s)" >&2
	t0=$(date +%s)
	timeout -k 5 "$limit" "$@" >"$res/$name.txt" 2>&1
	rc=$?
	case $rc in
	0) status=ok ;;
	124 | 137) status="timed out" ;;
	*) status="failed (exit $rc)" ;;
	esac
	printf '%s\t%s\t%d\t%d\t%d\n' "$name" "$status" $(($(date +%s) - t0)) "$limit" "$cap" >>"$res/steps.tsv"
	pack
}

# The device decides the sizes: a GPU's, or a dry run's on a CPU device.
step devices 30 "$ganvk" devices
command -v nvidia-smi >/dev/null && step nvidia-smi 20 nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
if grep -q 'type *CPU' "$res/devices.txt" 2>/dev/null && ! grep -q 'type *discrete\|type *integrated' "$res/devices.txt"; then
	dry=1 torch=cpu python=${PYTHON:-/usr/bin/python3} small=(--gf 4 --df 4) b64=8 b256=8 steps=(--steps 2 --warmup 1) budget=5s
	layers_run='TestConvDeterministic|TestTileChoices' gan_run='TestGPUPlan'
else
	dry=0 torch=cuda python=${PYTHON:-python3} small=() b64=64 b256=256 steps=(--steps 20 --warmup 5) budget=60s
	layers_run='.' gan_run='TestStepMatches|TestGPUPlan'
fi
printf 'dry run\t%s\nbatches for 64 and 256\t%s %s\nstarted\t%s\nkit\t%s\n' "$dry" "$b64" "$b256" "$(date -u +%FT%TZ)" "$(cat "$kit/KIT" 2>/dev/null | head -1)" >"$res/setup.tsv"

bench=("$ganvk" bench "${small[@]}")
torchbench=("$python" pytorch/bench.py --device $torch)
# torch NAME CAP ARGS... runs pytorch/bench.py as a step; a dry run skips it
# where the machine's python has no torch.
notorch=
if ((dry)) && ! "$python" -c 'import torch' 2>/dev/null; then
	notorch="$python has no torch"
fi
torch() {
	if [[ -n $notorch ]]; then
		skip "$1" "$2" "$notorch"
	else
		step "$1" "$2" "${torchbench[@]}" "${@:3}"
	fi
}
for p in dcgan28 dcgan64; do
	step "ganvk-$p-64" 90 "${bench[@]}" --preset $p --batch $b64 "${steps[@]}" --json
done
for p in dcgan28 dcgan64; do
	torch "torch-$p-64" 90 --preset $p --batch $b64 "${steps[@]}" --json
	torch "torch-tf32-$p-64" 60 --tf32 --preset $p --batch $b64 "${steps[@]}" --json
done
# The 11-27 kernels (16×16 invocations of 4×4, BK 16, split as the heuristic
# then split), against which the heuristic's are measured.
step "ganvk-1127tile-dcgan64-64" 90 "${bench[@]}" --preset dcgan64 --batch $b64 "${steps[@]}" --json --tile 16,16,4,4,shared,bk16
step "ganvk-dcgan64-64-profile" 90 "${bench[@]}" --preset dcgan64 --batch $b64 --steps 3 --warmup 1 --profile
step "ganvk-dcgan28-64-profile" 60 "${bench[@]}" --preset dcgan28 --batch $b64 --steps 3 --warmup 1 --profile
step tests-layers 150 bash -c "cd layers && '$kit/layers.test' -test.count=1 -test.timeout 10m -test.run '$layers_run'"
step tests-gan 120 bash -c "cd gan && '$kit/gan.test' -test.count=1 -test.timeout 10m -test.run '$gan_run' -test.v"
step "tune-dcgan64-64" 120 "$ganvk" tune "${small[@]}" --preset dcgan64 --batch $b64 --budget $budget
cp "$XDG_CACHE_HOME"/gan-vk/kernels-*.json "$res/" 2>/dev/null
step "ganvk-tuned-dcgan64-64" 90 "${bench[@]}" --preset dcgan64 --batch $b64 "${steps[@]}" --json
step "ganvk-tuned-dcgan64-64-profile" 90 "${bench[@]}" --preset dcgan64 --batch $b64 --steps 3 --warmup 1 --profile
for p in dcgan28 dcgan64; do
	step "ganvk-$p-256" 90 "${bench[@]}" --preset $p --batch $b256 "${steps[@]}" --json
	torch "torch-$p-256" 90 --preset $p --batch $b256 "${steps[@]}" --json
	torch "torch-tf32-$p-256" 60 --tf32 --preset $p --batch $b256 "${steps[@]}" --json
done

# The table, from whichever reports came back whole.
table=${PYTHON:-python3}
"$table" - "$res" "$dry" >"$res/summary.md" 2>"$res/summary.err" <<'PY' || echo "no table: $table could not make it (summary.err)" >"$res/summary.md"
import json, os, sys
res, dry = sys.argv[1], sys.argv[2] == "1"
def rate(name):
    try:
        with open(os.path.join(res, name + ".txt")) as f:
            return json.load(f)["images_per_s"]
    except (OSError, ValueError, KeyError):
        return None
def cell(v, base=None):
    if v is None:
        return "—"
    return f"{v:.1f}" + (f" ({base / v:.2f}×)" if base else "")
print("images/s; in brackets gan-vk's heuristic run as a multiple of PyTorch's\n")
if dry:
    print("A dry run on a CPU device: batch 8 for both batches, gan-vk at width 4, PyTorch at the presets' widths; the ratios mean nothing.\n")
print("| preset | batch | gan-vk, heuristic | gan-vk, tuned | gan-vk, 11-27 tile | PyTorch fp32 | PyTorch TF32 |")
print("|---|---|---|---|---|---|---|")
for p in ("dcgan28", "dcgan64"):
    for b in ("64", "256"):
        g, t, old = rate(f"ganvk-{p}-{b}"), rate(f"ganvk-tuned-{p}-{b}"), rate(f"ganvk-1127tile-{p}-{b}")
        print(f"| {p} | {b} | {cell(g)} | {cell(t)} | {cell(old)} | {cell(rate(f'torch-{p}-{b}'), g)} | {cell(rate(f'torch-tf32-{p}-{b}'), g)} |")
PY
printf 'finished\t%s\nseconds\t%d\n' "$(date -u +%FT%TZ)" $(($(date +%s) - start)) >>"$res/setup.tsv"
pack
cat "$res/steps.tsv" "$res/summary.md" >&2
