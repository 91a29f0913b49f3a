package layers_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

func TestBatchNorm2d(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		n, c, h, w int
		act        layers.Activation
	}{
		{2, 1024, 4, 4, lrelu},  // dcgan64 G after the dense layer
		{2, 128, 32, 32, lrelu}, // dcgan64 G before the last layer
		{2, 256, 7, 7, lrelu},   // dcgan28
		{1, 3, 5, 7, layers.Activation{}},
		{3, 5, 1, 1, layers.ReLU},
		{64, 2, 3, 3, layers.Activation{Act: layers.Tanh}},
	} {
		t.Run(fmt.Sprintf("%d×%d×%d×%d %v", c.n, c.c, c.h, c.w, c.act.Act), func(t *testing.T) {
			bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: c.n, C: c.c, H: c.h, W: c.w, Act: c.act})
			if err != nil {
				t.Fatal(err)
			}
			defer bn.Close()
			r := rand.New(rand.NewSource(2))
			n, l := c.n*c.c*c.h*c.w, c.h*c.w
			x := rnd(r, n, 2)
			gamma, beta := rnd(r, c.c, 1), rnd(r, c.c, 1)
			rm, rv := rnd(r, c.c, 1), rnd(r, c.c, 0.1)
			for i := range rv {
				rv[i] = float64(float32(rv[i]*rv[i] + 0.5))
			}
			dy := rnd(r, n, 1)
			dg0, db0 := rnd(r, c.c, 1), rnd(r, c.c, 1)

			bx, bg, bb := upload(t, d, "x", x), upload(t, d, "gamma", gamma), upload(t, d, "beta", beta)
			brun := upload(t, d, "running", append(append([]float64(nil), rm...), rv...))
			by, bev, bdx, bdxEval := alloc(t, d, "y", n), alloc(t, d, "eval", n), alloc(t, d, "dx", n), alloc(t, d, "eval dx", n)
			bdy, bdg, bdb := upload(t, d, "dy", dy), upload(t, d, "dgamma", dg0), upload(t, d, "dbeta", db0)
			run(t, d, func(s *vk.Sequence) {
				bn.ForwardEval(s, bev, bx, bg, bb, brun) // with the running statistics before the update
				bn.BackwardEval(s, bdxEval, bdy, bev, bg, brun)
				bn.Forward(s, by, bx, bg, bb, brun)
				bn.Backward(s, bdx, bdg, bdb, bdy, bx, by, bg)
			})

			act, slope := refAct(c.act)
			pre, mean, unbiased := ref.BatchNorm2d(x, gamma, beta, c.n, c.c, l, 1e-5)
			expect(t, "y", by, ref.Activate(act, slope, pre), ref.Sum)
			eval := ref.BatchNorm2dEval(x, gamma, beta, rm, rv, c.n, c.c, l, 1e-5)
			expect(t, "eval y", bev, ref.Activate(act, slope, eval), ref.Sum)
			expect(t, "eval dx", bdxEval, ref.BatchNorm2dEvalBackward(ref.ActivateBackward(act, slope, eval, dy), gamma, rv, c.n, c.c, l, 1e-5), ref.Sum)
			wantRun := make([]float64, 2*c.c)
			for i := 0; i < c.c; i++ {
				wantRun[i] = 0.9*rm[i] + 0.1*mean[i]
				wantRun[c.c+i] = 0.9*rv[i] + 0.1*unbiased[i]
			}
			expect(t, "running mean and var", brun, wantRun, ref.Sum)
			dx, dg, db := ref.BatchNorm2dBackward(ref.ActivateBackward(act, slope, pre, dy), x, gamma, c.n, c.c, l, 1e-5)
			expect(t, "dx", bdx, dx, ref.Sum)
			expect(t, "dgamma (accumulated)", bdg, add(dg0, dg), ref.Sum)
			expect(t, "dbeta (accumulated)", bdb, add(db0, db), ref.Sum)
		})
	}
}

// The variance is computed in two passes: on data far from zero,
// E[x²]−E[x]² in float32 would lose it to cancellation (here E[x²] ≈ 10⁶
// has an ulp of 0.06 against a variance of 1).
func TestBatchNormVarianceFarFromZero(t *testing.T) {
	d := vktest.Open(t)
	const n, c, l = 64, 4, 8 * 8
	bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: c, H: 8, W: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer bn.Close()
	x := rnd(rand.New(rand.NewSource(7)), n*c*l, 1)
	for i := range x {
		x[i] = float64(float32(x[i] + 1000))
	}
	ones := make([]float64, c)
	for i := range ones {
		ones[i] = 1
	}
	bx, bg, bb := upload(t, d, "x", x), upload(t, d, "gamma", ones), upload(t, d, "beta", make([]float64, c))
	brun, by := upload(t, d, "running", make([]float64, 2*c)), alloc(t, d, "y", n*c*l)
	run(t, d, func(s *vk.Sequence) { bn.Forward(s, by, bx, bg, bb, brun) })
	_, mean, unbiased := ref.BatchNorm2d(x, ones, make([]float64, c), n, c, l, 1e-5)
	want := make([]float64, 2*c)
	for i := 0; i < c; i++ {
		want[i], want[c+i] = 0.1*mean[i], 0.1*unbiased[i]
	}
	expect(t, "running mean and var (0.1 of the batch's)", brun, want, ref.Tol{Name: "1e-3", Rel: 1e-3})
}

func TestActivate(t *testing.T) {
	d := vktest.Open(t)
	r := rand.New(rand.NewSource(3))
	const n = 4500003 // past 65535 workgroups of 64, so the grid has rows; a multiple of nothing
	x, dy := rnd(r, n, 3), rnd(r, n, 1)
	bx, bdy := upload(t, d, "x", x), upload(t, d, "dy", dy)
	for _, a := range []layers.Activation{layers.LeakyReLU(0.2), layers.ReLU, {Act: layers.Tanh}, {Act: layers.Sigmoid}, {}} {
		t.Run(a.Act.String(), func(t *testing.T) {
			l, err := layers.NewActivate(d, n, a)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			by, bdx := alloc(t, d, "y", n), alloc(t, d, "dx", n)
			run(t, d, func(s *vk.Sequence) {
				l.Forward(s, by, bx)
				l.Backward(s, bdx, bdy, by)
			})
			act, slope := refAct(a)
			tol := ref.Pointwise
			if a.Act == layers.Tanh || a.Act == layers.Sigmoid {
				tol = ref.Transcendental
			}
			expect(t, "y", by, ref.Activate(act, slope, x), tol)
			expect(t, "dx", bdx, ref.ActivateBackward(act, slope, x, dy), tol)
		})
	}
}

// TestLoss holds both losses in each role, with the step's statistics, to
// the reference: large logits (BCE's overflow) and ones on hinge's kinks'
// sides.
func TestLoss(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		n     int
		scale float64
	}{{64, 2}, {1, 1}, {300, 3}, {7, 200}} {
		for _, kind := range []layers.LossKind{layers.BCE, layers.Hinge} {
			for _, role := range []layers.LossRole{layers.RealForD, layers.FakeForD, layers.FakeForG} {
				t.Run(fmt.Sprintf("batch %d scale %g %s role %d", c.n, c.scale, kind, role), func(t *testing.T) {
					const slot = 1
					l, err := layers.NewLoss(d, c.n, kind, role, slot)
					if err != nil {
						t.Fatal(err)
					}
					defer l.Close()
					logit := rnd(rand.New(rand.NewSource(4)), c.n, c.scale)
					bl, bdl := upload(t, d, "logit", logit), alloc(t, d, "dlogit", c.n)
					stats := upload(t, d, "stats", []float64{-1, -1, -1, -1, -1, -1})
					run(t, d, func(s *vk.Sequence) { l.Forward(s, bdl, stats, bl) })
					var loss, prob float64
					var dl []float64
					if kind == layers.BCE {
						target := 1.0
						if role == layers.FakeForD {
							target = 0
						}
						loss, dl, prob = ref.BCEWithLogits(logit, target)
					} else {
						loss, dl, prob = ref.Hinge(logit, int(role))
					}
					expect(t, "stats", stats, []float64{-1, -1, -1, loss, prob, ref.MeanSign(logit)}, ref.Sum)
					expect(t, "dlogit", bdl, dl, ref.Pointwise)
				})
			}
		}
	}
}

// Batch statistics and their gradients are workgroup-tree sums: the same
// inputs give the same bits, run after run.
func TestBatchNormDeterministic(t *testing.T) {
	d := vktest.Open(t)
	const n, c, h, w = 8, 16, 9, 9
	count := n * c * h * w
	bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: c, H: h, W: w, Act: lrelu})
	if err != nil {
		t.Fatal(err)
	}
	defer bn.Close()
	r := rand.New(rand.NewSource(8))
	x, dy, g, b := upload(t, d, "x", rnd(r, count, 2)), upload(t, d, "dy", rnd(r, count, 1)), upload(t, d, "gamma", rnd(r, c, 1)), upload(t, d, "beta", rnd(r, c, 1))
	running, y, dx, dg, db := alloc(t, d, "running", 2*c), alloc(t, d, "y", count), alloc(t, d, "dx", count), alloc(t, d, "dgamma", c), alloc(t, d, "dbeta", c)
	var first [][]float64
	for round := 0; round < 2; round++ {
		run(t, d, func(s *vk.Sequence) {
			for _, z := range []*vk.Buffer{running, dg, db} {
				s.Fill(z, 0)
			}
			bn.Forward(s, y, x, g, b, running)
			bn.Backward(s, dx, dg, db, dy, x, y, g)
		})
		got := [][]float64{download(t, y, count), download(t, dx, count), download(t, dg, c), download(t, db, c), download(t, running, 2*c)}
		if round == 0 {
			first = got
			continue
		}
		for i, name := range []string{"y", "dx", "dgamma", "dbeta", "running"} {
			if err := ref.Exact.Check(got[i], first[i]); err != nil {
				t.Errorf("%s differs between two runs: %v", name, err)
			}
		}
	}
}

// MoveRunning after a Forward leaves the running statistics, and what
// backward then computes, the same bits as a second Forward on the same x.
func TestBatchNormMoveRunning(t *testing.T) {
	d := vktest.Open(t)
	const n, c, h, w = 4, 8, 5, 5
	count := n * c * h * w
	bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: c, H: h, W: w, Act: lrelu})
	if err != nil {
		t.Fatal(err)
	}
	defer bn.Close()
	r := rand.New(rand.NewSource(12))
	x, dy0, g, b := upload(t, d, "x", rnd(r, count, 2)), rnd(r, count, 1), upload(t, d, "gamma", rnd(r, c, 1)), upload(t, d, "beta", rnd(r, c, 1))
	var results [2][][]float64
	for i, second := range []func(s *vk.Sequence, y, running *vk.Buffer){
		func(s *vk.Sequence, y, running *vk.Buffer) { bn.Forward(s, y, x, g, b, running) },
		func(s *vk.Sequence, y, running *vk.Buffer) { bn.MoveRunning(s, x, running) },
	} {
		running, y, dx := upload(t, d, "running", append(rnd(r, c, 0), rnd(r, c, 0)...)), alloc(t, d, "y", count), alloc(t, d, "dx", count)
		dy, dg, db := upload(t, d, "dy", dy0), alloc(t, d, "dgamma", c), alloc(t, d, "dbeta", c)
		run(t, d, func(s *vk.Sequence) {
			s.Fill(dg, 0)
			s.Fill(db, 0)
			bn.Forward(s, y, x, g, b, running)
			second(s, y, running)
			bn.Backward(s, dx, dg, db, dy, x, y, g)
		})
		results[i] = [][]float64{download(t, running, 2*c), download(t, y, count), download(t, dx, count), download(t, dg, c)}
	}
	for i, name := range []string{"running", "y", "dx", "dgamma"} {
		if err := ref.Exact.Check(results[1][i], results[0][i]); err != nil {
			t.Errorf("%s after MoveRunning differs from after a second Forward: %v", name, err)
		}
	}
	if err := ref.Exact.Check(results[0][0][:c], make([]float64, c)); err == nil {
		t.Error("the running mean did not move")
	}
}

// Tensors past the device's maxStorageBufferRange (128 MiB on lavapipe)
// work: the element-wise and GEMM kernels bind them as texel views, which
// that limit does not cover. A dcgan64 activation at batch 256 is 134 MB.
func TestBeyondStorageBufferRange(t *testing.T) {
	d := vktest.Open(t)
	const side = 5800 // 5800² floats = 134.6 MB
	n := side * side
	if limit := int64(d.Info().MaxStorageBufferRange); int64(4*n) <= limit {
		t.Skipf("the device's maxStorageBufferRange (%d bytes) holds the test tensor (%d bytes): nothing to test beyond it", limit, 4*n)
	}
	r := rand.New(rand.NewSource(10))
	x := rnd(r, n, 1)
	bx, by, bz := upload(t, d, "x", x), alloc(t, d, "y", n), alloc(t, d, "z", n)
	act, err := layers.NewActivate(d, n, lrelu)
	if err != nil {
		t.Fatal(err)
	}
	defer act.Close()
	// A 1×1 convolution with one channel: z = 3·x + 1.
	conv, err := layers.NewConv2d(d, layers.Conv2dConfig{N: 1, C: 1, H: side, W: side, K: 1, KH: 1, KW: 1, Stride: 1, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	w, b := upload(t, d, "w", []float64{3}), upload(t, d, "b", []float64{1})
	run(t, d, func(s *vk.Sequence) {
		act.Forward(s, by, bx)
		conv.Forward(s, bz, bx, w, b)
	})
	expect(t, "leaky_relu", by, ref.Activate(ref.Leaky, float64(float32(0.2)), x), ref.Pointwise)
	expect(t, "conv", bz, ref.Conv2d(x, []float64{3}, []float64{1}, ref.Conv{N: 1, C: 1, H: side, W: side, K: 1, KH: 1, KW: 1, Stride: 1}), ref.Pointwise)
}

// A split reduction whose slices pass maxStorageBufferRange works: they are
// bound as texel views only. dcgan28's first layer (dense 100→12544) at
// batch 64, its filter gradient split 32 ways, writes 160 MB of slices,
// which gan-vk tune stopped at when the slices were also bound where a
// storage buffer goes.
func TestSplitBeyondStorageBufferRange(t *testing.T) {
	d := vktest.Open(t)
	c := convCase{"dense 100→12544, batch 64", ref.Conv{N: 64, C: 100, H: 1, W: 1, K: 12544, KH: 1, KW: 1, Stride: 1}, true, lrelu}
	split := layers.Force{Form: layers.Register, LX: 8, LY: 8, TM: 32, TN: 8, Split: 32}
	if slices := 4 * 32 * 12544 * 100; int64(slices) <= int64(d.Info().MaxStorageBufferRange) {
		t.Skipf("the device's maxStorageBufferRange (%d bytes) holds the slices (%d bytes): nothing to test beyond it", d.Info().MaxStorageBufferRange, slices)
	}
	checkConv2d(t, d, c, split)
}
