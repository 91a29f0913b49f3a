#!/usr/bin/env bash
# view_overhead.sh — what `train --view` costs training: the wall time of
# steps 2..N of the same run with and without the window, alternating,
# PAIRS times. Needs a display (DISPLAY=:99 after `Xvfb :99 &`, or a
# desktop) and bin/gan-vk (./build.sh).
#
#   DISPLAY=:99 bench/view_overhead.sh          # N=31 steps, PAIRS=2, dcgan28 at batch 64
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-31}
PAIRS=${PAIRS:-2}
out=$(mktemp -d)
trap 'pkill -f "gan-vk train .*--run $out" || true; rm -rf "$out"' EXIT
stamp() { while IFS= read -r l; do echo "$(date +%s.%N) $l"; done; }
for ((p = 0; p < PAIRS; p++)); do
	for mode in plain view; do
		flags=()
		[[ $mode == view ]] && flags=(--view)
		log=$out/$mode-$p.log
		: >"$log"
		(bin/gan-vk train "${flags[@]}" --steps "$N" --batch 64 --sample-every 0 --checkpoint-every 0 \
			--run "$out/$mode-$p" 2>&1 | stamp >"$log") &
		pid=$!
		until grep -q "step $N/$N" "$log"; do sleep 0.5; done
		pkill -f "gan-vk train .*--run $out/$mode-$p" || true # the window stays open after the last step
		wait $pid 2>/dev/null || true
		t1=$(awk -v s="step 1/$N" 'index($0, s) {print $1; exit}' "$log")
		t2=$(awk -v s="step $N/$N" 'index($0, s) {print $1; exit}' "$log")
		echo "$mode: $(echo "$t2 - $t1" | bc) s for $((N - 1)) steps"
	done
done
