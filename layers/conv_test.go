package layers_test

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// convCase is one shape for Conv2d and ConvTranspose2d tests.
type convCase struct {
	name string
	g    ref.Conv
	bias bool
	act  layers.Activation
}

var lrelu = layers.LeakyReLU(0.2)

// The DCGAN shapes at batch 2, then the awkward ones: batch 1, odd channel
// counts, non-square inputs, sizes that fill no tile, strides 1 and 3.
var convCases = []convCase{
	{"dcgan64 d1 3→64 64²", ref.Conv{N: 2, C: 3, H: 64, W: 64, K: 64, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, lrelu},
	{"dcgan64 d2 64→128 32²", ref.Conv{N: 2, C: 64, H: 32, W: 32, K: 128, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, layers.Activation{}},
	{"dcgan64 d3 128→256 16²", ref.Conv{N: 2, C: 128, H: 16, W: 16, K: 256, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, false, layers.Activation{}},
	{"dcgan64 d4 256→512 8²", ref.Conv{N: 2, C: 256, H: 8, W: 8, K: 512, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, layers.Activation{}},
	{"dcgan28 d1 1→64 28²", ref.Conv{N: 2, C: 1, H: 28, W: 28, K: 64, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, lrelu},
	{"dcgan28 d2 64→128 14²", ref.Conv{N: 2, C: 64, H: 14, W: 14, K: 128, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, lrelu},
	{"dcgan28 g1 256→128 7² s1", ref.Conv{N: 2, C: 256, H: 7, W: 7, K: 128, KH: 5, KW: 5, Stride: 1, Pad: 2}, false, layers.Activation{}},
	{"batch 1 odd 3→5 7×9", ref.Conv{N: 1, C: 3, H: 7, W: 9, K: 5, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, layers.Activation{Act: layers.Tanh}},
	{"stride 3 4×3 kernel", ref.Conv{N: 3, C: 7, H: 11, W: 6, K: 9, KH: 4, KW: 3, Stride: 3, Pad: 1, OutPad: 2}, true, layers.Activation{Act: layers.Sigmoid}},
	{"1×1 stride 1 no pad", ref.Conv{N: 5, C: 13, H: 3, W: 2, K: 11, KH: 1, KW: 1, Stride: 1}, true, layers.ReLU},
}

// The generator's transposed convolutions, beyond convCases (which run
// through both ops).
var convTCases = []convCase{
	{"dcgan64 g1 1024→512 4²", ref.Conv{N: 2, C: 1024, H: 4, W: 4, K: 512, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, false, layers.Activation{}},
	{"dcgan64 g2 512→256 8²", ref.Conv{N: 2, C: 512, H: 8, W: 8, K: 256, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, false, layers.Activation{}},
	{"dcgan64 g3 256→128 16²", ref.Conv{N: 2, C: 256, H: 16, W: 16, K: 128, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, false, layers.Activation{}},
	{"dcgan64 g4 128→3 32² tanh", ref.Conv{N: 2, C: 128, H: 32, W: 32, K: 3, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, layers.Activation{Act: layers.Tanh}},
	{"dcgan28 g2 128→64 7²", ref.Conv{N: 2, C: 128, H: 7, W: 7, K: 64, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, false, layers.Activation{}},
	{"dcgan28 g3 64→1 14² tanh", ref.Conv{N: 2, C: 64, H: 14, W: 14, K: 1, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1}, true, layers.Activation{Act: layers.Tanh}},
}

// op is what the conv tests need of Conv2d and ConvTranspose2d.
type op interface {
	Forward(s *vk.Sequence, y, x, w, b *vk.Buffer)
	Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer)
	Close()
}

// convRef is the reference of one direction.
type convRef struct {
	outH, outW int
	wlen       int
	fwd        func(x, w, b []float64, g ref.Conv) []float64
	bwd        func(dy, x, w []float64, g ref.Conv) (dx, dw, db []float64)
}

func conv2dRef(g ref.Conv) convRef {
	return convRef{g.OutH(), g.OutW(), g.K * g.C * g.KH * g.KW, ref.Conv2d, ref.Conv2dBackward}
}

func convT2dRef(g ref.Conv) convRef {
	return convRef{g.TOutH(), g.TOutW(), g.C * g.K * g.KH * g.KW, ref.ConvTranspose2d, ref.ConvTranspose2dBackward}
}

// checkConv runs forward and backward of o on random data and holds every
// output to the reference. Weights are scaled by 1/sqrt(fan-in) so outputs
// are of unit scale, as in a trained network.
func checkConv(t *testing.T, d *vk.Device, o op, c convCase, rf convRef) {
	g := c.g
	r := rand.New(rand.NewSource(1))
	nx, ny := g.N*g.C*g.H*g.W, g.N*g.K*rf.outH*rf.outW
	x := rnd(r, nx, 1)
	w := rnd(r, rf.wlen, 1/math.Sqrt(float64(rf.wlen/g.K)))
	b := rnd(r, g.K, 1)
	dy := rnd(r, ny, 1)
	dw0, db0 := rnd(r, rf.wlen, 1), rnd(r, g.K, 1)

	bx, bw, bb := upload(t, d, "x", x), upload(t, d, "w", w), upload(t, d, "b", b)
	by, bdx := alloc(t, d, "y", ny), alloc(t, d, "dx", nx)
	bdy, bdw, bdb := upload(t, d, "dy", dy), upload(t, d, "dw", dw0), upload(t, d, "db", db0)
	run(t, d, func(s *vk.Sequence) {
		o.Forward(s, by, bx, bw, bb)
		o.Backward(s, bdx, bdw, bdb, bdy, bx, bw, by)
	})

	var rb []float64
	if c.bias {
		rb = b
	}
	pre := rf.fwd(x, w, rb, g)
	act, slope := refAct(c.act)
	expect(t, "y", by, ref.Activate(act, slope, pre), ref.Sum)
	gdy := ref.ActivateBackward(act, slope, pre, dy)
	dx, dw, db := rf.bwd(gdy, x, w, g)
	expect(t, "dx", bdx, dx, ref.Sum)
	expect(t, "dw (accumulated)", bdw, add(dw0, dw), ref.Sum)
	if c.bias {
		expect(t, "db (accumulated)", bdb, add(db0, db), ref.Sum)
	} else {
		expect(t, "db (untouched)", bdb, db0, ref.Exact)
	}
}

func TestConv2d(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) { checkConv2d(t, d, c, nil) })
	}
}

// checkConv2d builds Conv2d for a case with tiles (nil: the heuristic's)
// and holds it to the reference.
func checkConv2d(t *testing.T, d *vk.Device, c convCase, tiles layers.Tiler) {
	g := c.g
	o, err := layers.NewConv2d(d, layers.Conv2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K,
		KH: g.KH, KW: g.KW, Stride: g.Stride, Pad: g.Pad, Bias: c.bias, Act: c.act, Tiles: tiles})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	checkConv(t, d, o, c, conv2dRef(g))
}

// checkConvT2d builds ConvTranspose2d for a case with tiles and holds it
// to the reference.
func checkConvT2d(t *testing.T, d *vk.Device, c convCase, tiles layers.Tiler) {
	g := c.g
	o, err := layers.NewConvTranspose2d(d, layers.ConvTranspose2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K,
		KH: g.KH, KW: g.KW, Stride: g.Stride, Pad: g.Pad, OutPad: g.OutPad, Bias: c.bias, Act: c.act, Tiles: tiles})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	checkConv(t, d, o, c, convT2dRef(g))
}

func TestConvTranspose2d(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range append(convTCases, convCases...) {
		t.Run(c.name, func(t *testing.T) { checkConvT2d(t, d, c, nil) })
	}
}

func TestLinear(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		n, in, out int
		bias       bool
		act        layers.Activation
	}{
		{2, 100, 4 * 4 * 1024, false, layers.Activation{}}, // dcgan64 G input
		{2, 512 * 4 * 4, 1, true, layers.Activation{}},     // dcgan64 D output
		{2, 100, 7 * 7 * 256, false, layers.Activation{}},  // dcgan28 G input
		{1, 13, 7, true, layers.Activation{Act: layers.Sigmoid}},
		{9, 33, 17, true, lrelu},
	} {
		t.Run(fmt.Sprintf("%d×%d→%d", c.n, c.in, c.out), func(t *testing.T) {
			o, err := layers.NewLinear(d, layers.LinearConfig{N: c.n, In: c.in, Out: c.out, Bias: c.bias, Act: c.act})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			// Linear is the 1×1 Conv2d; its reference is the plain matrix
			// product, so this also checks that reading.
			rf := convRef{1, 1, c.out * c.in,
				func(x, w, b []float64, g ref.Conv) []float64 { return ref.Linear(x, w, b, c.n, c.in, c.out) },
				func(dy, x, w []float64, g ref.Conv) ([]float64, []float64, []float64) {
					return ref.LinearBackward(dy, x, w, c.n, c.in, c.out)
				}}
			g := ref.Conv{N: c.n, C: c.in, H: 1, W: 1, K: c.out, KH: 1, KW: 1, Stride: 1}
			checkConv(t, d, o, convCase{bias: c.bias, act: c.act, g: g}, rf)
		})
	}
}

// formCases are the kernel configurations a device may choose, beyond
// the heuristic's for lavapipe, that every op is held to the reference in:
// the register form with other blocks, the shared-memory form (what GPUs
// get) with tiles that fit none of the cases exactly, vec4 and scalar
// reads of its column operand, with and without prefetching (128×128
// blocks among them: the GPU heuristic's big tile; and 16 invocations
// over 24 columns, each loading several), operands read through
// texel views and from storage buffers in both forms, and reductions split
// into uneven slices (what a GPU gets for small outputs: of the batch for
// a filter gradient, of the input channels for the other passes), summed
// in order by sum_slices, with the bias and activation of a forward pass.
var formCases = []struct {
	name string
	tile layers.Force
}{
	{"register 8,8,16,8", layers.Force{Form: layers.Register, LX: 8, LY: 8, TM: 16, TN: 8}},
	{"register 4,2,4,3 storage split", layers.Force{Form: layers.Register, LX: 4, LY: 2, TM: 4, TN: 3, Split: 3, Loads: layers.Storage}},
	{"shared 16,16,4,4 split", layers.Force{Form: layers.Shared, LX: 16, LY: 16, TM: 4, TN: 4, BK: 16, Split: 5}},
	{"shared 8,2,8,3 bk8 prefetch", layers.Force{Form: layers.Shared, LX: 8, LY: 2, TM: 8, TN: 3, BK: 8, Prefetch: true}},
	{"shared 16,16,8,8 bk8 prefetch storage split", layers.Force{Form: layers.Shared, LX: 16, LY: 16, TM: 8, TN: 8, BK: 8, Prefetch: true, Split: 3, Loads: layers.Storage}},
}

// TestConvForms runs the small convolution cases in every form.
func TestConvForms(t *testing.T) {
	d := vktest.Open(t)
	for _, f := range formCases {
		t.Run(f.name, func(t *testing.T) { checkSmallConvs(t, d, f.tile) })
	}
}

// checkSmallConvs runs Conv2d and ConvTranspose2d on three small cases:
// dcgan28's last layer (one output channel), batch 1 with odd sizes, and
// stride 3 with a 4×3 kernel. (Each form's kernels are compiled afresh
// on a machine whose Mesa cache is empty, as CI's is: a few cases keep
// that to seconds.)
func checkSmallConvs(t *testing.T, d *vk.Device, tiles layers.Tiler) {
	for _, c := range []convCase{convTCases[5], convCases[7], convCases[8]} {
		t.Run("conv/"+c.name, func(t *testing.T) { checkConv2d(t, d, c, tiles) })
		t.Run("convT/"+c.name, func(t *testing.T) { checkConvT2d(t, d, c, tiles) })
	}
}

// The same inputs give the same bits, run after run: every sum has a fixed
// order.
func TestConvDeterministic(t *testing.T) {
	d := vktest.Open(t)
	cfg := layers.Conv2dConfig{N: 4, C: 32, H: 16, W: 16, K: 64, KH: 5, KW: 5, Stride: 2, Pad: 2, Bias: true}
	o, err := layers.NewConv2d(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	r := rand.New(rand.NewSource(9))
	nx, nw, ny := 4*32*16*16, 64*32*25, 4*64*8*8
	x, w, b, dy := upload(t, d, "x", rnd(r, nx, 1)), upload(t, d, "w", rnd(r, nw, 0.03)), upload(t, d, "b", rnd(r, 64, 1)), upload(t, d, "dy", rnd(r, ny, 1))
	y, dx, dw, db := alloc(t, d, "y", ny), alloc(t, d, "dx", nx), alloc(t, d, "dw", nw), alloc(t, d, "db", 64)
	var first [][]float64
	for round := 0; round < 2; round++ {
		run(t, d, func(s *vk.Sequence) {
			s.Fill(dw, 0)
			s.Fill(db, 0)
			o.Forward(s, y, x, w, b)
			o.Backward(s, dx, dw, db, dy, x, w, y)
		})
		got := [][]float64{download(t, y, ny), download(t, dx, nx), download(t, dw, nw), download(t, db, 64)}
		if round == 0 {
			first = got
			continue
		}
		for i, name := range []string{"y", "dx", "dw", "db"} {
			if err := ref.Exact.Check(got[i], first[i]); err != nil {
				t.Errorf("%s differs between two runs: %v", name, err)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	d := vktest.Open(t)
	if _, err := layers.NewConv2d(d, layers.Conv2dConfig{N: 1, C: 1, H: 4, W: 4, K: 1, KH: 5, KW: 5, Stride: 1}); err == nil {
		t.Error("a 5×5 kernel on a 4×4 input without padding was accepted")
	}
	if _, err := layers.NewConvTranspose2d(d, layers.ConvTranspose2dConfig{N: 1, C: 1, H: 4, W: 4, K: 1, KH: 5, KW: 5, Stride: 2, OutPad: 2}); err == nil {
		t.Error("output padding 2 with stride 2 was accepted")
	}
	if _, err := layers.NewLinear(d, layers.LinearConfig{N: 1, In: 3, Out: 2, Act: layers.LeakyReLU(-1)}); err == nil {
		t.Error("a negative LeakyReLU slope was accepted")
	}
}

// A buffer too small for the shape is a programming error: it panics with
// a message naming the op, the buffer and both sizes.
func TestShapeMismatchPanics(t *testing.T) {
	d := vktest.Open(t)
	o, err := layers.NewConv2d(d, layers.Conv2dConfig{N: 2, C: 3, H: 8, W: 8, K: 4, KH: 3, KW: 3, Stride: 1, Pad: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	x, w, y := alloc(t, d, "x", 2*3*8*8), alloc(t, d, "w", 4*3*9), alloc(t, d, "y short", 10)
	s, err := d.NewSequence("mismatch")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer func() {
		msg := fmt.Sprint(recover())
		for _, want := range []string{"conv2d forward", `"y short"`, "holds 10 floats", "needs 512"} {
			if !strings.Contains(msg, want) {
				t.Errorf("panic %q does not say %q", msg, want)
			}
		}
	}()
	o.Forward(s, y, x, w, nil)
}

// An op built with PreparedWeights reads the weight as Prepare left it:
// its forward and backward-data match the reference for the prepared
// weight, and keep doing so after the weight buffer changes until Prepare
// runs again; then they follow the new weight.
func TestConvPreparedWeights(t *testing.T) {
	d := vktest.Open(t)
	for _, tc := range []struct {
		c          convCase
		transposed bool
	}{{convCases[5], false}, {convTCases[4], true}} {
		c := tc.c
		t.Run(c.name, func(t *testing.T) {
			g := c.g
			var o interface {
				op
				Prepare(s *vk.Sequence, w *vk.Buffer)
			}
			rf := conv2dRef(g)
			var err error
			if tc.transposed {
				rf = convT2dRef(g)
				o, err = layers.NewConvTranspose2d(d, layers.ConvTranspose2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.KH, KW: g.KW,
					Stride: g.Stride, Pad: g.Pad, OutPad: g.OutPad, Bias: c.bias, PreparedWeights: true})
			} else {
				o, err = layers.NewConv2d(d, layers.Conv2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, KH: g.KH, KW: g.KW,
					Stride: g.Stride, Pad: g.Pad, Bias: c.bias, PreparedWeights: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			r := rand.New(rand.NewSource(2))
			nx, ny := g.N*g.C*g.H*g.W, g.N*g.K*rf.outH*rf.outW
			x, b, dy := rnd(r, nx, 1), rnd(r, g.K, 1), rnd(r, ny, 1)
			w1, w2 := rnd(r, rf.wlen, 0.1), rnd(r, rf.wlen, 0.1)
			bx, bb, bdy, bw := upload(t, d, "x", x), upload(t, d, "b", b), upload(t, d, "dy", dy), upload(t, d, "w", w1)
			by, bdx := alloc(t, d, "y", ny), alloc(t, d, "dx", nx)
			pass := func() {
				run(t, d, func(s *vk.Sequence) {
					o.Forward(s, by, bx, bw, bb)
					o.Backward(s, bdx, nil, nil, bdy, bx, bw, by)
				})
			}
			check := func(when string, w []float64) {
				t.Helper()
				var rb []float64
				if c.bias {
					rb = b
				}
				expect(t, when+": y", by, rf.fwd(x, w, rb, g), ref.Sum)
				dx, _, _ := rf.bwd(dy, x, w, g)
				expect(t, when+": dx", bdx, dx, ref.Sum)
			}
			run(t, d, func(s *vk.Sequence) { o.Prepare(s, bw) })
			pass()
			check("prepared", w1)
			if err := bw.Upload(0, vk.Float32Bytes(f32(w2))); err != nil {
				t.Fatal(err)
			}
			pass()
			check("changed, not prepared again", w1)
			run(t, d, func(s *vk.Sequence) { o.Prepare(s, bw) })
			pass()
			check("prepared again", w2)
		})
	}
}
