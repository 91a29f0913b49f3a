#!/bin/sh
# gan-vk against PyTorch CUDA on this machine's GPU, both presets at batch 64
# and 256, plus a per-layer profile of gan-vk at batch 64:
#
#	bench/gpu.sh [OUTDIR]
#
# bench/compare.sh says what it needs and what it measures.
exec "$(dirname "$0")/compare.sh" cuda "$@"
