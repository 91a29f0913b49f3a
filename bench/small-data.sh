#!/usr/bin/env bash
# bench/small-data.sh — does augmentation help on a few hundred images?
#
#   bench/small-data.sh OUT
#
# Trains three runs on each of two small data sets — no augmentation,
# --augment color,translation,cutout (p 1), and --augment-p auto (ADA) —
# for the same steps from the same seed, scores each checkpoint (every 100
# steps) with gan-vk score against the full data set, and writes every
# run's metrics.jsonl and a scores.tsv (run, step, FD, KID, precision,
# recall, for the EMA generator and the raw one) into OUT.
#
#   fashion: dcgan28 (--gf 32 --df 32, batch 64) on Fashion-MNIST's first
#            500 training images, 600 steps (77 epochs), scored against
#            all 60000 (the feature net trained on their labels)
#   icons:   dcgan64 (--gf 32 --df 32, batch 32) on every third (279) of the Oxygen icon
#            theme's 128×128 PNGs (Debian's oxygen-icon-theme, unpacked
#            here, not installed), 400 steps (46 epochs), scored against
#            all 837 (unlabelled: a random-weight feature net)
#
# Widths are halved so that the six runs fit in about an hour on a
# 2-core machine under lavapipe.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/small-data.sh OUT}
# shellcheck source=bench/runs.sh
. bench/runs.sh # out made absolute, the scratch folder work, the binary bin; train, score

# The data sets.
python3 - "$work/fashion500" <<'PY'
import gzip, struct, sys
b = gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz').read()
magic, n, h, w = struct.unpack('>IIII', b[:16])
k = 500
open(sys.argv[1], 'wb').write(struct.pack('>IIII', magic, k, h, w) + b[16:16 + k * h * w])
PY
(cd "$work" && apt-get download -q oxygen-icon-theme >/dev/null && dpkg -x oxygen-icon-theme_*.deb oxy)
mkdir -p "$work/icons-all" "$work/icons300"
find "$work/oxy/usr/share/icons/oxygen/base/128x128" -name '*.png' | sort | while read -r f; do
	cp "$f" "$work/icons-all/$(basename "$(dirname "$f")")-$(basename "$f")"
done
ls "$work/icons-all" | sort | awk 'NR % 3 == 1' | head -300 | while read -r f; do cp "$work/icons-all/$f" "$work/icons300/"; done
echo "fashion: 500 images; icons: $(ls "$work/icons300" | wc -l) of $(ls "$work/icons-all" | wc -l)" | tee "$out/data.txt"


printf 'run\tstep\tweights\tfd\tkid\tprecision\trecall\n' >"$out/scores.tsv"
common28=(--preset dcgan28 --gf 32 --df 32 --steps 600 --checkpoint-every 100 --sample-every 100)
common64=(--preset dcgan64 --gf 32 --df 32 --batch 32 --steps 400 --checkpoint-every 100 --sample-every 100)
train fashion-plain "$work/fashion500" "${common28[@]}"
train fashion-augment "$work/fashion500" "${common28[@]}" --augment color,translation,cutout
train icons-plain "$work/icons300" "${common64[@]}"
train icons-augment "$work/icons300" "${common64[@]}" --augment color,translation,cutout
train fashion-auto "$work/fashion500" "${common28[@]}" --augment-p auto
train icons-auto "$work/icons300" "${common64[@]}" --augment-p auto
for r in fashion-plain fashion-augment fashion-auto; do score "$r" /usr/share/datasets/fashion-mnist 2000; done
for r in icons-plain icons-augment icons-auto; do score "$r" "$work/icons-all" 834; done
echo "wrote $out"
