package layers_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// PyTorch's answers for small cases, written by testdata/golden.py. Each
// case holds both the shader and the reference to them.

type tensor struct {
	Shape []int
	Data  []float64
}

type goldenCase map[string]tensor

func (c goldenCase) get(t *testing.T, name string) []float64 {
	t.Helper()
	v, ok := c[name]
	if !ok {
		t.Fatalf("golden.json has no tensor %q here", name)
	}
	return v.Data
}

func golden(t *testing.T, name string) goldenCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("testdata/golden.json: %v", err)
	}
	var c goldenCase
	if err := json.Unmarshal(all[name], &c); err != nil {
		t.Fatalf("testdata/golden.json case %q: %v", name, err)
	}
	return c
}

// both holds the device's result and the reference's to PyTorch's.
func both(t *testing.T, what string, dev *vk.Buffer, refv []float64, want []float64) {
	t.Helper()
	expect(t, what+" (device)", dev, want, ref.Torch)
	if err := ref.Torch.Check(refv, want); err != nil {
		t.Errorf("%s (reference): %v", what, err)
	}
}

func TestGoldenConv(t *testing.T) {
	d := vktest.Open(t)
	for _, transposed := range []bool{false, true} {
		name := "conv2d"
		if transposed {
			name = "conv_transpose2d"
		}
		t.Run(name, func(t *testing.T) {
			c := golden(t, name)
			x, w, b, dy := c.get(t, "x"), c.get(t, "w"), c.get(t, "b"), c.get(t, "dy")
			xs, ws := c["x"].Shape, c["w"].Shape
			g := ref.Conv{N: xs[0], C: xs[1], H: xs[2], W: xs[3], K: ws[0], KH: ws[2], KW: ws[3], Stride: 2, Pad: 2, OutPad: 1}
			act := layers.LeakyReLU(0.2)
			var o op
			var err error
			rf := conv2dRef(g)
			if transposed {
				g.K = ws[1]
				act = layers.Activation{Act: layers.Tanh}
				rf = convT2dRef(g)
				o, err = layers.NewConvTranspose2d(d, layers.ConvTranspose2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K,
					KH: g.KH, KW: g.KW, Stride: 2, Pad: 2, OutPad: 1, Bias: true, Act: act})
			} else {
				o, err = layers.NewConv2d(d, layers.Conv2dConfig{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K,
					KH: g.KH, KW: g.KW, Stride: 2, Pad: 2, Bias: true, Act: act})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			by, bdx := alloc(t, d, "y", len(dy)), alloc(t, d, "dx", len(x))
			bdw, bdb := upload(t, d, "dw", make([]float64, len(w))), upload(t, d, "db", make([]float64, len(b)))
			bx, bw, bb, bdy := upload(t, d, "x", x), upload(t, d, "w", w), upload(t, d, "b", b), upload(t, d, "dy", dy)
			run(t, d, func(s *vk.Sequence) {
				o.Forward(s, by, bx, bw, bb)
				o.Backward(s, bdx, bdw, bdb, bdy, bx, bw, by)
			})
			a, slope := refAct(act)
			pre := rf.fwd(x, w, b, g)
			dx, dw, db := rf.bwd(ref.ActivateBackward(a, slope, pre, dy), x, w, g)
			both(t, "y", by, ref.Activate(a, slope, pre), c.get(t, "y"))
			both(t, "dx", bdx, dx, c.get(t, "dx"))
			both(t, "dw", bdw, dw, c.get(t, "dw"))
			both(t, "db", bdb, db, c.get(t, "db"))
		})
	}
}

func TestGoldenLinear(t *testing.T) {
	d := vktest.Open(t)
	c := golden(t, "linear")
	x, w, b, dy := c.get(t, "x"), c.get(t, "w"), c.get(t, "b"), c.get(t, "dy")
	n, out, in := c["x"].Shape[0], c["w"].Shape[0], c["w"].Shape[1]
	o, err := layers.NewLinear(d, layers.LinearConfig{N: n, In: in, Out: out, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	by, bdx := alloc(t, d, "y", n*out), alloc(t, d, "dx", n*in)
	bdw, bdb := upload(t, d, "dw", make([]float64, len(w))), upload(t, d, "db", make([]float64, out))
	bx, bw, bb, bdy := upload(t, d, "x", x), upload(t, d, "w", w), upload(t, d, "b", b), upload(t, d, "dy", dy)
	run(t, d, func(s *vk.Sequence) {
		o.Forward(s, by, bx, bw, bb)
		o.Backward(s, bdx, bdw, bdb, bdy, bx, bw, by)
	})
	dx, dw, db := ref.LinearBackward(dy, x, w, n, in, out)
	both(t, "y", by, ref.Linear(x, w, b, n, in, out), c.get(t, "y"))
	both(t, "dx", bdx, dx, c.get(t, "dx"))
	both(t, "dw", bdw, dw, c.get(t, "dw"))
	both(t, "db", bdb, db, c.get(t, "db"))
}

func TestGoldenBatchNorm(t *testing.T) {
	d := vktest.Open(t)
	c := golden(t, "batch_norm2d")
	x, gamma, beta, dy := c.get(t, "x"), c.get(t, "gamma"), c.get(t, "beta"), c.get(t, "dy")
	s := c["x"].Shape
	n, ch, l := s[0], s[1], s[2]*s[3]
	act := layers.LeakyReLU(0.2)
	bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: ch, H: s[2], W: s[3], Act: act})
	if err != nil {
		t.Fatal(err)
	}
	defer bn.Close()
	running := make([]float64, 2*ch)
	for i := ch; i < 2*ch; i++ {
		running[i] = 1 // PyTorch's initial running variance
	}
	bx, bg, bb, bdy, brun := upload(t, d, "x", x), upload(t, d, "gamma", gamma), upload(t, d, "beta", beta), upload(t, d, "dy", dy), upload(t, d, "running", running)
	by, bev, bdx := alloc(t, d, "y", len(x)), alloc(t, d, "eval", len(x)), alloc(t, d, "dx", len(x))
	bdg, bdb := upload(t, d, "dgamma", make([]float64, ch)), upload(t, d, "dbeta", make([]float64, ch))
	run(t, d, func(q *vk.Sequence) {
		bn.Forward(q, by, bx, bg, bb, brun)
		bn.Backward(q, bdx, bdg, bdb, bdy, bx, by, bg)
		bn.ForwardEval(q, bev, bx, bg, bb, brun)
	})
	a, slope := refAct(act)
	pre, mean, unbiased := ref.BatchNorm2d(x, gamma, beta, n, ch, l, 1e-5)
	dx, dg, db := ref.BatchNorm2dBackward(ref.ActivateBackward(a, slope, pre, dy), x, gamma, n, ch, l, 1e-5)
	rm, rv := make([]float64, ch), make([]float64, ch)
	for i := range rm {
		rm[i], rv[i] = 0.1*mean[i], 0.9+0.1*unbiased[i]
	}
	both(t, "y", by, ref.Activate(a, slope, pre), c.get(t, "y"))
	both(t, "dx", bdx, dx, c.get(t, "dx"))
	both(t, "dgamma", bdg, dg, c.get(t, "dgamma"))
	both(t, "dbeta", bdb, db, c.get(t, "dbeta"))
	both(t, "running mean and var", brun, append(rm, rv...), append(c.get(t, "running_mean"), c.get(t, "running_var")...))
	eval := ref.BatchNorm2dEval(x, gamma, beta, c.get(t, "running_mean"), c.get(t, "running_var"), n, ch, l, 1e-5)
	both(t, "eval y", bev, ref.Activate(a, slope, eval), c.get(t, "eval_y"))
}

func TestGoldenBCE(t *testing.T) {
	d := vktest.Open(t)
	for _, target := range []float32{0, 1} {
		t.Run(fmt.Sprint("target ", target), func(t *testing.T) {
			c := golden(t, fmt.Sprintf("bce_target%d", int(target)))
			logit := c.get(t, "logit")
			role := layers.RealForD
			if target == 0 {
				role = layers.FakeForD
			}
			l, err := layers.NewLoss(d, len(logit), layers.BCE, role, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			bl, bdl, stats := upload(t, d, "logit", logit), alloc(t, d, "dlogit", len(logit)), alloc(t, d, "stats", layers.LossStats)
			run(t, d, func(s *vk.Sequence) { l.Forward(s, bdl, stats, bl) })
			loss, dl, _ := ref.BCEWithLogits(logit, float64(target))
			both(t, "loss", stats, []float64{loss}, c.get(t, "loss"))
			both(t, "dlogit", bdl, dl, c.get(t, "dlogit"))
		})
	}
}

func TestGoldenAdam(t *testing.T) {
	d := vktest.Open(t)
	c := golden(t, "adam")
	p := c.get(t, "p0")
	n := len(p)
	m, v := make([]float64, n), make([]float64, n)
	rig := newAdamRig(t, d, layers.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8}, p, make([]float64, n))
	for step := 1; step <= 3; step++ {
		g := c.get(t, fmt.Sprint("grad", step))
		if err := rig.g.Upload(0, vk.Float32Bytes(f32(g))); err != nil {
			t.Fatal(err)
		}
		if err := rig.step.Submit(); err != nil {
			t.Fatal(err)
		}
		ref.Adam(p, g, m, v, step, float64(float32(2e-4)), 0.5, float64(float32(0.999)), float64(float32(1e-8)))
		both(t, fmt.Sprint("p after step ", step), rig.p, p, c.get(t, fmt.Sprint("p", step)))
		both(t, fmt.Sprint("m after step ", step), rig.m, m, c.get(t, fmt.Sprint("m", step)))
		both(t, fmt.Sprint("v after step ", step), rig.v, v, c.get(t, fmt.Sprint("v", step)))
	}
}

func f32(v []float64) []float32 {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return f
}
