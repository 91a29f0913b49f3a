#!/usr/bin/env bash
# bench/conditional.sh — does a class-conditional DCGAN draw the class it
# is asked for, and at what cost in FD against the unconditional one?
#
#   bench/conditional.sh OUT [fashion|icons|all] [STEPS]
#
#   fashion: dcgan28 (the defaults: --gf 64 --df 64, batch 64) on
#            Fashion-MNIST, 1000 steps, twice from seed 1: train
#            --conditional and unconditional; the checkpoints at 500 and
#            1000 scored class by class (score --per-class, 10000 images,
#            the EMA generator) against all 60000 (the feature classifier
#            trained on their labels)
#   icons:   dcgan64 (--gf 32 --df 32, batch 32) on a class-labelled colour
#            folder made from the Oxygen icon theme's 128×128 PNGs
#            (Debian's oxygen-icon-theme, unpacked here, not installed): a
#            subfolder per icon category (actions, apps, devices, mimetypes,
#            places, status), resized to 64×64; STEPS steps (default 400),
#            conditional and unconditional, checkpoints every 200 scored
#            class by class with 1200 images against the folder (a
#            classifier trained on its six categories)
#
# OUT gets each run's metrics.jsonl and last sample grid (<run>.png), each
# score's JSON (<run>.<step>.classes.json) and classes.tsv (run, step,
# class, name, images, accuracy, FD; class "all" for the whole).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/conditional.sh OUT [fashion|icons|all] [STEPS]}
part=${2:-all}
steps=${3:-400}
# shellcheck source=bench/runs.sh
. bench/runs.sh # out made absolute, the scratch folder work, the binary bin; train, score

# classes NAME REF N: every checkpoint of run NAME scored class by class
# against REF with N images.
classes() {
	local name=$1 ref=$2 n=$3 ck step
	for ck in "$work/runs/$name"/checkpoints/step_*.safetensors; do
		step=$((10#$(basename "$ck" .safetensors | sed 's/step_//')))
		"$bin" score --checkpoint "$ck" --data "$ref" --n "$n" --per-class --cache "$work/score" --json >"$out/$name.$step.classes.json"
		python3 - "$name" "$step" "$out/$name.$step.classes.json" >>"$out/classes.tsv" <<'EOF'
import json, sys
name, step, path = sys.argv[1:]
r = json.load(open(path))
for c in r["classes"]:
    print("\t".join(str(x) for x in [name, step, c["class"], c["name"], c["n"], c.get("accuracy", ""), c["fd"]]))
print("\t".join(str(x) for x in [name, step, "all", "", r["n"], r.get("accuracy", ""), r["fd"]]))
EOF
	done
}

if [[ $part == fashion || $part == all ]]; then
	fashion=/usr/share/datasets/fashion-mnist
	for kind in cond uncond; do
		flag=()
		[[ $kind == cond ]] && flag=(--conditional)
		train "fashion28-$kind" "$fashion" "${flag[@]}" --steps 1000 --checkpoint-every 500 --sample-every 500
		classes "fashion28-$kind" "$fashion" 10000
	done
fi

if [[ $part == icons || $part == all ]]; then
	(cd "$work" && apt-get download -q oxygen-icon-theme >/dev/null && dpkg -x oxygen-icon-theme_*.deb oxy)
	for c in actions apps devices mimetypes places status; do
		mkdir -p "$work/icons/$c"
		cp "$work/oxy/usr/share/icons/oxygen/base/128x128/$c"/*.png "$work/icons/$c/"
	done
	echo "icons: $(find "$work/icons" -name '*.png' | wc -l) 128×128 PNGs of oxygen-icon-theme $(dpkg-deb -f "$work"/oxygen-icon-theme_*.deb Version):" \
		"$(for c in "$work"/icons/*/; do echo -n "$(basename "$c") $(ls "$c" | wc -l), "; done)" | tee "$out/data.txt"
	for kind in cond uncond; do
		flag=()
		[[ $kind == cond ]] && flag=(--conditional)
		train "icons64-$kind" "$work/icons" "${flag[@]}" --size 64 --gf 32 --df 32 --batch 32 --steps "$steps" \
			--checkpoint-every 200 --sample-every 200
		classes "icons64-$kind" "$work/icons" 1200
	done
fi
