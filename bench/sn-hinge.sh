#!/usr/bin/env bash
# bench/sn-hinge.sh — does spectral norm with the hinge loss steady a
# 128×128 DCGAN, and does the small size train?
#
#   bench/sn-hinge.sh OUT [STEPS]
#
#   icons128: dcgan128 (--gf 16 --df 16, batch 32) on all of the Oxygen
#             icon theme's 128×128 PNGs (Debian's oxygen-icon-theme,
#             unpacked here, not installed), STEPS steps (default 300)
#             twice from the same seed: plain (BCE, batch norm in D) and
#             --sn --loss hinge; each checkpoint (every 100 steps) scored
#             against the icons (unlabelled: a random-weight feature net)
#   fashion32: dcgan32 (--gf 32 --df 32, batch 64) on Fashion-MNIST
#             resized to 32×32, 600 steps, scored every 200 against all
#             60000 (the feature net trained on their labels)
#
# Widths are small so that the runs fit in under an hour on a 2-core
# machine under lavapipe. OUT gets each run's metrics.jsonl, its last
# sample grid (<run>.png) and scores.tsv (run, step, weights, FD, KID,
# precision, recall).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/sn-hinge.sh OUT [STEPS]}
steps=${2:-300}
# shellcheck source=bench/runs.sh
. bench/runs.sh # out made absolute, the scratch folder work, the binary bin; train, score

(cd "$work" && apt-get download -q oxygen-icon-theme >/dev/null && dpkg -x oxygen-icon-theme_*.deb oxy)
mkdir -p "$work/icons"
find "$work/oxy/usr/share/icons/oxygen/base/128x128" -name '*.png' | sort | while read -r f; do
	cp "$f" "$work/icons/$(basename "$(dirname "$f")")-$(basename "$f")"
done
echo "icons: $(ls "$work/icons" | wc -l) 128×128 PNGs of oxygen-icon-theme $(dpkg-deb -f "$work"/oxygen-icon-theme_*.deb Version)" | tee "$out/data.txt"


printf 'run\tstep\tweights\tfd\tkid\tprecision\trecall\n' >"$out/scores.tsv"
icons=(--size 128 --gf 16 --df 16 --batch 32 --steps "$steps" --checkpoint-every 100 --sample-every 100)
train icons128-plain "$work/icons" "${icons[@]}"
train icons128-sn-hinge "$work/icons" "${icons[@]}" --sn --loss hinge
train fashion32 /usr/share/datasets/fashion-mnist --size 32 --gf 32 --df 32 --batch 64 --steps 600 \
	--checkpoint-every 200 --sample-every 200
n=$(( $(ls "$work/icons" | wc -l) / 6 * 6 )) # as bench/small-data.sh: 834 of 837
for r in icons128-plain icons128-sn-hinge; do score "$r" "$work/icons" "$n"; done
score fashion32 /usr/share/datasets/fashion-mnist 2000
echo "wrote $out"
