# bench/runs.sh — what the measuring scripts share (bench/small-data.sh,
# bench/sn-hinge.sh, bench/conditional.sh). Source it from the repository
# root after setting out (where results go): it makes out absolute, work
# (a scratch folder, removed on exit) and bin (the gan-vk binary, built if
# missing).
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$work}
bin=bin/gan-vk
[[ -x $bin ]] || ./build.sh >/dev/null

# train NAME DATA ARGS...: one run in $work/runs/NAME from seed 1, quiet,
# every checkpoint kept; its metrics.jsonl and its last sample grid are
# copied to $out/NAME.metrics.jsonl and $out/NAME.png.
train() {
	local name=$1 data=$2
	shift 2
	"$bin" train --data "$data" --run "$work/runs/$name" --cache "$work/cache" --seed 1 --quiet \
		--checkpoint-minutes 0 --keep 100 "$@"
	cp "$work/runs/$name/metrics.jsonl" "$out/$name.metrics.jsonl"
	cp "$work/runs/$name/samples/step_$(printf %06d "$(tail -1 "$out/$name.metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*/\1/')").png" "$out/$name.png"
}

# score NAME REF N: every checkpoint of run NAME against REF with N drawn
# images, the EMA generator and the raw one, a line each in
# $out/scores.tsv (run, step, weights, FD, KID, precision, recall).
score() {
	local name=$1 ref=$2 n=$3 ck step w
	for ck in "$work/runs/$name"/checkpoints/step_*.safetensors; do
		step=$((10#$(basename "$ck" .safetensors | sed 's/step_//')))
		for w in ema raw; do
			"$bin" score --checkpoint "$ck" --data "$ref" --n "$n" --weights "$w" --cache "$work/score" --json |
				python3 -c 'import json,sys; r=json.load(sys.stdin); print("\t".join(str(x) for x in [sys.argv[1], sys.argv[2], sys.argv[3], r["fd"], r["kid"], r.get("precision",""), r.get("recall","")]))' "$name" "$step" "$w" >>"$out/scores.tsv"
		done
	done
}
