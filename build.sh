#!/usr/bin/env bash
# build.sh — the one entry point for building and testing gan-vk.
#
#   ./build.sh            install what is missing, compile the shaders, build bin/gan-vk
#   ./build.sh devices    the same, then list the Vulkan devices (bin/gan-vk devices)
#   ./build.sh run ARGS   the same, then run bin/gan-vk ARGS
#   ./build.sh train ARGS the same, then bin/gan-vk train ARGS (no ARGS: dcgan28 on Fashion-MNIST)
#   ./build.sh shaders    compile shaders/*.comp to shaders/spv/*.spv and regenerate shaders_gen.go
#   ./build.sh test       gofmt, go vet, SPIR-V freshness, go test ./... (validation layer on), brief fuzzing
#   ./build.sh soak       train STEPS (5000) small steps in a process of its own and watch its memory
#   ./build.sh deps       only install (or, without root, list) the Debian packages
#   ./build.sh proto      regenerate gan/onnx/onnxpb/onnx.pb.go from onnx.proto (needs protoc)
#   ./build.sh gpu-kit    what a bare GPU machine lacks for bench/gpu-window.sh, in .gpu-kit/
#   ./build.sh window     the kit, then bench/gpu-window.sh's dry run on this machine (also part of test)
set -euo pipefail

cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

# Debian packages gan-vk needs to build, test and run.
packages=(
	mesa-vulkan-drivers     # lavapipe: a Vulkan device on the CPU
	libvulkan-dev           # the Vulkan loader and headers (cgo)
	glslc                   # GLSL -> SPIR-V
	vulkan-validationlayers # the Khronos validation layer the tests run under
	vulkan-tools            # vulkaninfo, for diagnosing a driver
	libx11-dev libxrandr-dev libxinerama-dev libxcursor-dev libxi-dev libxxf86vm-dev libgl-dev # GLFW (the viewer)
	xvfb xdotool x11-apps x11-xserver-utils # the viewer's tests: a display, keys and resizes, screenshots (xwd), HiDPI (xrdb)
	dataset-fashion-mnist   # the default training data
	nodejs                  # the export test runs the ONNX model in onnxruntime-node (web/, from npm)
	openmpi-bin             # mpirun and libmpi, which gan-vk loads at run time for data-parallel training
)

log() { printf 'build.sh: %s\n' "$*" >&2; }

deps() {
	local names=("${packages[@]}") missing=() p
	if ! command -v dpkg-query >/dev/null; then
		if command -v glslc >/dev/null && ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
			log "not a Debian system: found glslc and libvulkan, going on"
			return 0
		fi
		log "not a Debian system and glslc or libvulkan is missing. gan-vk needs the equivalents of these Debian packages:"
		printf '  %s\n' "${names[@]}" >&2
		exit 1
	fi
	for p in "${names[@]}"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	if [[ $(id -u) -ne 0 ]]; then
		log "missing Debian packages: ${missing[*]}"
		log "install them with: sudo apt-get install -y ${missing[*]}"
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian's nodejs comes without npm, which is a package of its own;
	# NodeSource's nodejs carries npm and conflicts with that package.
	if ! command -v npm >/dev/null; then
		log "installing npm"
		apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
}

# compile_shaders DIR: SPIR-V into DIR/spv, shaders_gen.go into DIR.
compile_shaders() {
	local out=$1 f name
	mkdir -p "$out/spv"
	for f in shaders/*.comp; do
		name=$(basename "$f" .comp)
		glslc --target-env=vulkan1.1 -O -Werror -I shaders/include -o "$out/spv/$name.spv" "$f"
	done
	(cd shaders && go run ./gen -out "$out/shaders_gen.go" -spv "$out/spv")
}

# proto regenerates the ONNX messages with protoc and protoc-gen-go (a
# developer's step: the generated file is committed, so neither is needed
# to build or test).
proto() {
	command -v protoc >/dev/null || { log "protoc is missing: apt-get install protobuf-compiler"; exit 1; }
	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	(cd gan/onnx/onnxpb && protoc --go_out=. --go_opt=paths=source_relative onnx.proto)
}

shaders() {
	rm -f shaders/spv/*.spv
	compile_shaders "$PWD/shaders"
}

build() {
	deps
	shaders
	mkdir -p bin
	go build -o bin/gan-vk ./cmd/gan-vk
	log "built bin/gan-vk"
}

test_all() {
	deps
	local fail=0 bad tmp
	bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
	if [[ -n $bad ]]; then
		log "gofmt would change: $bad"
		fail=1
	fi
	go vet ./... || fail=1
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	compile_shaders "$tmp"
	if ! diff -r "$tmp/spv" shaders/spv >/dev/null || ! diff "$tmp/shaders_gen.go" shaders/shaders_gen.go >/dev/null; then
		log "the committed SPIR-V or shaders_gen.go is stale: run ./build.sh shaders and commit the result"
		diff -r "$tmp/spv" shaders/spv || true
		fail=1
	fi
	[[ $fail -eq 0 ]] || exit 1
	# Tests open devices with the Khronos validation layer on (vk/vktest) and
	# fail on any message it prints.
	export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
	go test -count=1 -timeout 15m ./...
	# Each fuzz target, briefly, beyond its seed corpus (which the line
	# above ran): FUZZTIME=1m ./build.sh test for a longer look. The default
	# is a count of inputs, not a duration: a duration races Go's fuzzing
	# coordinator, which fails a target with "context deadline exceeded" when
	# a starved worker is still mid-input at the deadline (CI did, with no
	# crasher written). A count has no deadline; 200000 inputs take 2 to 6 s
	# a target on the project machine.
	window_dry_run
	local target
	for target in gan/data:FuzzIDX gan/data:FuzzImage gan/run:FuzzCheckpoint gan/run:FuzzRunConfig cmd/gan-vk:FuzzCLI; do
		go test -run - -fuzz "^${target#*:}\$" -fuzztime "${FUZZTIME:-200000x}" "./${target%%:*}"
	done
}

# gpu_kit fills .gpu-kit/ (git-ignored) with what bench/gpu-window.sh needs
# on a bare GPU machine that has a Vulkan driver and python3 with PyTorch but
# nothing of ours: gan-vk and the layers and gan test binaries (stripped),
# the shared libraries gan-vk links against beyond glibc, the Vulkan loader
# (used where the machine has none) and the Khronos validation layer
# (compressed). It stays under the device tool's 64 MiB for carried paths.
gpu_kit() {
	deps
	local kit=.gpu-kit lib
	rm -rf "$kit"
	mkdir -p "$kit/lib" "$kit/loader" "$kit/vklayer"
	go build -ldflags '-s -w' -o "$kit/gan-vk" ./cmd/gan-vk
	go test -c -ldflags '-s -w' -o "$kit/layers.test" ./layers
	go test -c -ldflags '-s -w' -o "$kit/gan.test" ./gan
	for lib in $(ldd "$kit/gan-vk" "$kit/layers.test" "$kit/gan.test" | awk '$3 ~ /^\// {print $3}' | sort -u); do
		case $(basename "$lib") in
		libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux*) ;;
		*) cp -L "$lib" "$kit/lib/" ;;
		esac
	done
	# gan-vk opens the loader at run time (dlopen), so ldd does not list it.
	cp -L "$(ldconfig -p | awk '/libvulkan.so.1 .*x86-64/ {print $NF; exit}')" "$kit/loader/libvulkan.so.1"
	local layer=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
	gzip -9c /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so >"$kit/vklayer/libVkLayer_khronos_validation.so.gz"
	sed 's#"library_path": *"[^"]*"#"library_path": "./libVkLayer_khronos_validation.so"#' "$layer" >"$kit/vklayer/VkLayer_khronos_validation.json"
	printf 'gan-vk %s, built %s on %s\n' "$(git describe --always --dirty 2>/dev/null || echo unknown)" "$(date -u +%FT%TZ)" "$(uname -m)" >"$kit/KIT"
	local size
	size=$(du -sm "$kit" | cut -f1)
	if ((size > 60)); then
		log "the kit is ${size} MiB, more than the 60 MiB it must stay under (the device tool carries 64 MiB with the tree)"
		exit 1
	fi
	log "built $kit (${size} MiB): carry it with the device tool and run bench/gpu-window.sh there"
}

# window_dry_run runs bench/gpu-window.sh on this machine's CPU device, as
# docs/benchmarks.md says to before a GPU is lent, and holds it
# to what a lent GPU needs: it ends by its deadline, and its archive lists
# every step with its output, gan-vk's steps run, and PyTorch's too where
# /usr/bin/python3 has torch (CI's has not: they are skipped, saying so); a
# step may be cut off or skipped by the deadline, never time out alone.
window_dry_run() {
	local out deadline=${WINDOW_DEADLINE:-120} t0 took res name status bad=0
	out=$(mktemp -d)
	gpu_kit
	t0=$(date +%s)
	if ! OUT=$out DEADLINE=$deadline bash bench/gpu-window.sh 2>"$out/log"; then
		cat "$out/log" >&2
		log "the GPU window's dry run failed"
		exit 1
	fi
	took=$(($(date +%s) - t0))
	res=$out/results
	mkdir -p "$res"
	tar -xzf "$out/gpu-window.tar.gz" -C "$out"
	if ((took > deadline + 5)); then
		log "the GPU window's dry run took ${took}s, past its deadline of ${deadline}s"
		bad=1
	fi
	[[ -s $res/summary.md && $(grep -c . "$res/steps.tsv") -ge 20 ]] || { log "the GPU window's archive lacks its summary or steps"; bad=1; }
	local limit cap
	while IFS=$'\t' read -r name status _ limit cap; do
		[[ $name == step ]] && continue
		case $status in
		ok | "skipped: "*) ;;
		"timed out") ((limit < cap)) || { log "the GPU window's dry run: $name timed out at its own limit (${cap}s)"; bad=1; } ;;
		*)
			log "the GPU window's dry run: $name: $status"
			tail -5 "$res/$name.txt" >&2
			bad=1 ;;
		esac
	done <"$res/steps.tsv"
	grep -q $'^ganvk-dcgan64-64\tok' "$res/steps.tsv" || { log "the GPU window's dry run did not bench dcgan64"; bad=1; }
	((bad == 0)) || exit 1
	log "the GPU window's dry run ended in ${took}s of its ${deadline}, its archive whole"
	rm -rf "$out"
}

# soak trains thousands of small steps in a process of its own and watches
# its memory (cmd/gan-vk TestSoak); STEPS=n sets how many (default 5000).
soak() {
	deps
	GAN_VK_SOAK_STEPS="${STEPS:-5000}" go test -count=1 -timeout 60m -run '^TestSoak$' -v ./cmd/gan-vk
}

case ${1:-build} in
build) build ;;
deps) deps ;;
shaders) shaders ;;
proto) proto ;;
gpu-kit) gpu_kit ;;
window) deps && window_dry_run ;;
test) test_all ;;
soak) soak ;;
devices) build && bin/gan-vk devices ;;
run) shift; build && GAN_VK_PROGRAM="./build.sh run" exec bin/gan-vk "$@" ;;
train) shift; build && GAN_VK_PROGRAM="./build.sh run" exec bin/gan-vk train "$@" ;;
-h | --help | help) sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' ;;
*) log "unknown command '$1'; run ./build.sh --help"; exit 2 ;;
esac
