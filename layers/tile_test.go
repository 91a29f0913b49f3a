package layers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// A device's limits, as lavapipe and a GPU report them, for the checks.
var (
	lavapipe = vk.DeviceInfo{Name: "llvmpipe", Type: vk.TypeCPU, DriverInfo: "Mesa 22.3.6 (LLVM 15.0.6)", MaxWorkgroupInvocations: 1024,
		MaxWorkgroupSize: [3]uint32{1024, 1024, 1024}, MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}, SharedMemory: 32 << 10,
		MaxTexelBufferElements: 128 << 20}
	gpu = vk.DeviceInfo{Name: "a GPU", Type: vk.TypeDiscrete, MaxWorkgroupInvocations: 1024,
		MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, MaxWorkgroupCount: [3]uint32{1 << 31, 65535, 65535}, SharedMemory: 48 << 10,
		MaxTexelBufferElements: 128 << 20}
)

// withRange is info with lavapipe's maxStorageBufferRange.
func withRange(info vk.DeviceInfo) vk.DeviceInfo {
	info.MaxStorageBufferRange = 128 << 20
	return info
}

func TestTileText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want layers.Tile
		out  string
	}{
		{"8,8,32,8", layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 32, TN: 8, Split: 1}, "8,8,32,8"},
		{"16,16,4,4,shared", layers.Tile{Form: layers.Shared, LX: 16, LY: 16, TM: 4, TN: 4, BK: 16, Split: 1}, "16,16,4,4,shared,bk16"},
		{" 16, 8,8,8, shared ,bk8,split4", layers.Tile{Form: layers.Shared, LX: 16, LY: 8, TM: 8, TN: 8, BK: 8, Split: 4}, "16,8,8,8,shared,bk8,split4"},
		{"8,8,16,8,register,split2", layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 16, TN: 8, Split: 2}, "8,8,16,8,split2"},
		{"16,16,8,8,shared,bk8,prefetch", layers.Tile{Form: layers.Shared, LX: 16, LY: 16, TM: 8, TN: 8, BK: 8, Prefetch: true, Split: 1}, "16,16,8,8,shared,bk8,prefetch"},
		{"16,16,8,8,shared,bk8,prefetch,storage,split8", layers.Tile{Form: layers.Shared, LX: 16, LY: 16, TM: 8, TN: 8, BK: 8, Prefetch: true, Split: 8, Loads: layers.Storage},
			"16,16,8,8,shared,bk8,prefetch,storage,split8"},
		{"8,8,32,8,storage", layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 32, TN: 8, Split: 1, Loads: layers.Storage}, "8,8,32,8,storage"},
		{"8,8,32,8,texel", layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 32, TN: 8, Split: 1}, "8,8,32,8"},
	} {
		got, err := layers.ParseTile(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseTile(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if got.String() != c.out {
			t.Errorf("%q reads back as %q, want %q", c.in, got, c.out)
		}
		if again, err := layers.ParseTile(got.String()); err != nil || again != got {
			t.Errorf("%q: String and ParseTile do not agree: %+v, %v", c.in, again, err)
		}
	}
	for _, bad := range []string{"", "8,8,32", "8,8,30,8", "0,8,32,8", "8,8,32,x", "8,8,32,8,fast", "8,8,32,8,bk16",
		"8,8,32,8,shared,bk0", "8,8,32,8,split0", "8,8,32,8,prefetch", "64,64,4,4", "8,8,32,8,splitx", "8,8,4096,8", "8,8,32,8,stored"} {
		if _, err := layers.ParseTile(bad); err == nil {
			t.Errorf("ParseTile(%q) was accepted", bad)
		} else if !strings.Contains(err.Error(), "LX,LY,TM,TN") && !strings.Contains(err.Error(), "tile") {
			t.Errorf("ParseTile(%q): %v does not say what a tile is", bad, err)
		}
	}
}

// passesOf are the GEMM passes of the ops the tests build, for round trips.
func passesOf() []layers.Pass {
	var out []layers.Pass
	for _, c := range append(convCases, convTCases...) {
		g := c.g
		cc := layers.Conv2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.KH, KW: g.KW, Stride: g.Stride, Pad: g.Pad}
		ct := layers.ConvTranspose2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.KH, KW: g.KW, Stride: g.Stride, Pad: g.Pad, OutPad: g.OutPad}
		for _, ps := range []layers.Passes{cc.Passes(), ct.Passes()} {
			l := ps.List()
			out = append(out, l[:]...)
		}
	}
	return out
}

func TestPassText(t *testing.T) {
	for _, p := range passesOf() {
		q, err := layers.ParsePass(p.String())
		if err != nil || q != p {
			t.Errorf("%v reads back as %v, %v", p, q, err)
		}
	}
	for _, bad := range []string{"", "conv_fwd", "gemm n1 c1 1x1 k1 1x1 r1x1 s1 p0", "conv_fwd n0 c1 1x1 k1 1x1 r1x1 s1 p0",
		"conv_fwd n1 c1 1x1 k1 1x1 r1x1 s0 p0", "conv_fwd n99999999999 c1 1x1 k1 1x1 r1x1 s1 p0"} {
		if _, err := layers.ParsePass(bad); err == nil {
			t.Errorf("ParsePass(%q) was accepted", bad)
		}
	}
	// A plan is a JSON object keyed by pass.
	plan := layers.Plan{}
	for _, p := range passesOf() {
		plan[p] = layers.Heuristic(gpu, p)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	var back layers.Plan
	if err := json.Unmarshal(b, &back); err != nil || len(back) != len(plan) {
		t.Fatalf("a plan of %d passes read back as %d: %v", len(plan), len(back), err)
	}
	for p, tile := range plan {
		if back[p] != tile {
			t.Errorf("%v: %v read back as %v", p, tile, back[p])
		}
	}
}

// The heuristic follows what was measured on lavapipe: Mesa 22 runs 32×8
// blocks fastest, Mesa 25 16×8; GPUs get the shared-memory form.
func TestHeuristicByDriver(t *testing.T) {
	p := layers.Conv2dConfig{N: 64, C: 64, H: 14, W: 14, K: 256, KH: 5, KW: 5, Stride: 2, Pad: 2}.Passes().Forward
	for _, c := range []struct {
		info string
		want string
	}{
		{"Mesa 22.3.6 (LLVM 15.0.6)", "8,8,32,8"},
		{"Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)", "8,8,16,8"},
		{"Mesa 24.0.5-1ubuntu1 (LLVM 17.0.6)", "8,8,16,8"},
		{"", "8,8,32,8"},
	} {
		info := lavapipe
		info.DriverInfo = c.info
		if got := layers.Heuristic(info, p).String(); got != c.want {
			t.Errorf("lavapipe %q: %s, want %s", c.info, got, c.want)
		}
	}
	if got := layers.Heuristic(gpu, p); got.Form != layers.Shared {
		t.Errorf("a GPU gets %v", got)
	}
	// On a GPU a pass of few workgroups splits its reduction: D's last
	// layer at batch 64 (dense 8192→1) is one workgroup unsplit.
	last := layers.LinearConfig{N: 64, In: 8192, Out: 1}.Passes().Forward
	if got := layers.Heuristic(gpu, last); got.Split < 2 {
		t.Errorf("D's last layer on a GPU: %v, want a split", got)
	}
	if got := layers.Heuristic(lavapipe, last); got.Split != 1 {
		t.Errorf("D's last layer on lavapipe: %v, want no split", got)
	}
}

// Every tile the heuristic and the candidates give is fitted, runs on the
// device, and a fitted tile fits to itself.
func TestTileChoices(t *testing.T) {
	for _, info := range []vk.DeviceInfo{lavapipe, gpu} {
		for _, p := range passesOf() {
			h := layers.Heuristic(info, p)
			cands := layers.Candidates(info, p)
			if len(cands) < 2 || cands[0] != h {
				t.Errorf("%s, %v: %d candidates, the first %v, want the heuristic's %v first", info.Name, p, len(cands), cands[0], h)
			}
			for _, c := range append(cands, layers.SplitCandidates(info, p, h)...) {
				if err := c.Check(info, p); err != nil {
					t.Errorf("%s, %v: candidate %v: %v", info.Name, p, c, err)
				}
				if c.Fit(p) != c {
					t.Errorf("%s, %v: candidate %v fits to %v", info.Name, p, c, c.Fit(p))
				}
			}
		}
	}
	// What a device cannot run is refused, saying why.
	p := layers.LinearConfig{N: 4, In: 64, Out: 64}.Passes()
	for _, c := range []struct {
		tile layers.Tile
		pass layers.Pass
		want string
	}{
		{layers.Tile{Form: layers.Shared, LX: 32, LY: 32, TM: 16, TN: 8, BK: 16, Split: 1}, p.Forward, "shared memory"},
		{layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 4, TN: 4, Split: 65}, p.Forward, "cannot be split 65 ways (at most 64: one slice per input channel)"},
		{layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 4, TN: 4, Split: 5}, p.Filter, "cannot be split 5 ways (at most 4: one slice per sample)"},
	} {
		if err := c.tile.Check(lavapipe, c.pass); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v on %v: %v, want an error saying %q", c.tile, c.pass, err, c.want)
		}
	}
	// Storage loads need each operand within maxStorageBufferRange (128
	// MiB on lavapipe; x here is 256 MiB), and a split's slices within
	// what the device allocates at once.
	wide := layers.LinearConfig{N: 4096, In: 16384, Out: 4}.Passes().Forward
	if err := (layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 4, TN: 4, Split: 1, Loads: layers.Storage}).Check(withRange(lavapipe), wide); err == nil ||
		!strings.Contains(err.Error(), "maxStorageBufferRange") || !strings.Contains(err.Error(), "texel") {
		t.Errorf("storage loads of a 256 MiB operand: %v, want a refusal naming maxStorageBufferRange and texel buffers", err)
	}
	if err := (layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 4, TN: 4, Split: 1}).Check(withRange(lavapipe), wide); err != nil {
		t.Errorf("texel loads of a 256 MiB operand: %v", err)
	}
	tight := lavapipe
	tight.MaxAllocationSize = 64 << 20
	g0 := layers.LinearConfig{N: 64, In: 100, Out: 12544}.Passes().Filter // dcgan28's G.0 at batch 64
	if err := (layers.Tile{Form: layers.Register, LX: 8, LY: 8, TM: 4, TN: 4, Split: 32}).Check(tight, g0); err == nil || !strings.Contains(err.Error(), "allocates at once") {
		t.Errorf("160 MB of slices on a device that allocates 64 MiB at once: %v", err)
	}
	if err := (layers.Tile{Form: layers.Register, LX: 64, LY: 8, TM: 4, TN: 4, Split: 1}).Check(gpu, p.Forward); err != nil {
		t.Errorf("a 64×8 workgroup: %v", err)
	}
	small := gpu
	small.MaxWorkgroupInvocations = 256
	if err := (layers.Tile{Form: layers.Register, LX: 32, LY: 16, TM: 4, TN: 4, Split: 1}).Check(small, p.Forward); err == nil {
		t.Error("a 512-invocation workgroup was accepted on a device that runs 256")
	}
}
