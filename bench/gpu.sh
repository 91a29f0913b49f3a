#!/bin/sh
# gan-vk against PyTorch CUDA on this machine's GPU: gan-vk's kernels tuned
# for both presets at batch 64 first (gan-vk tune, into the user's cache),
# then both presets at batch 64 and 256, PyTorch with TF32 off and on, plus
# a per-layer profile of gan-vk at batch 64 (with each pass's kernel, where
# it came from and its roofline bound):
#
#	bench/gpu.sh [OUTDIR]
#
# bench/compare.sh says what it needs and what it measures.
set -eu
out=${1:-bench/out}
bin=${GAN_VK:-bin/gan-vk}
mkdir -p "$out"
for preset in dcgan28 dcgan64; do
	"$bin" tune --preset $preset --batch 64 >"$out/tune-$preset-64.txt"
done
exec "$(dirname "$0")/compare.sh" cuda "$out"
