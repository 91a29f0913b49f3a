package ref

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func randn(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64() * scale
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// checkGrad compares an analytic gradient of L(v) with central finite
// differences at every element of v (or 40 of them, spread out).
func checkGrad(t *testing.T, name string, v, grad []float64, loss func() float64) {
	t.Helper()
	const h = 1e-6
	step := max(1, len(v)/40)
	for i := 0; i < len(v); i += step {
		old := v[i]
		v[i] = old + h
		lp := loss()
		v[i] = old - h
		lm := loss()
		v[i] = old
		fd := (lp - lm) / (2 * h)
		if d := math.Abs(fd - grad[i]); d > 1e-6+1e-5*math.Abs(fd) {
			t.Errorf("%s[%d]: analytic %.9g, finite difference %.9g", name, i, grad[i], fd)
			return
		}
	}
}

func TestConvGradients(t *testing.T) {
	for _, g := range []Conv{
		{N: 2, C: 3, H: 7, W: 6, K: 4, KH: 5, KW: 5, Stride: 2, Pad: 2, OutPad: 1},
		{N: 1, C: 2, H: 4, W: 5, K: 3, KH: 3, KW: 2, Stride: 1, Pad: 1},
		{N: 2, C: 1, H: 6, W: 6, K: 2, KH: 4, KW: 4, Stride: 3, Pad: 0, OutPad: 2},
	} {
		r := rand.New(rand.NewSource(1))
		x := randn(r, g.N*g.C*g.H*g.W, 1)
		w := randn(r, g.K*g.C*g.KH*g.KW, 0.3)
		b := randn(r, g.K, 1)
		proj := randn(r, g.N*g.K*g.OutH()*g.OutW(), 1)
		loss := func() float64 { return dot(proj, Conv2d(x, w, b, g)) }
		dx, dw, db := Conv2dBackward(proj, x, w, g)
		checkGrad(t, "conv2d dx", x, dx, loss)
		checkGrad(t, "conv2d dw", w, dw, loss)
		checkGrad(t, "conv2d db", b, db, loss)

		tproj := randn(r, g.N*g.K*g.TOutH()*g.TOutW(), 1)
		tw := randn(r, g.C*g.K*g.KH*g.KW, 0.3)
		tloss := func() float64 { return dot(tproj, ConvTranspose2d(x, tw, b, g)) }
		dx, dw, db = ConvTranspose2dBackward(tproj, x, tw, g)
		checkGrad(t, "conv_transpose2d dx", x, dx, tloss)
		checkGrad(t, "conv_transpose2d dw", tw, dw, tloss)
		checkGrad(t, "conv_transpose2d db", b, db, tloss)
	}
}

// A transposed convolution is the adjoint of the convolution with the same
// geometry: <conv(x), y> = <x, conv_transpose(y)>.
func TestConvTransposeIsAdjoint(t *testing.T) {
	g := Conv{N: 2, C: 3, H: 8, W: 6, K: 4, KH: 5, KW: 5, Stride: 2, Pad: 2}
	r := rand.New(rand.NewSource(2))
	x := randn(r, g.N*g.C*g.H*g.W, 1)
	w := randn(r, g.K*g.C*g.KH*g.KW, 1)
	y := randn(r, g.N*g.K*g.OutH()*g.OutW(), 1)
	tg := Conv{N: g.N, C: g.K, H: g.OutH(), W: g.OutW(), K: g.C, KH: g.KH, KW: g.KW, Stride: g.Stride, Pad: g.Pad, OutPad: 1}
	if tg.TOutH() != g.H || tg.TOutW() != g.W {
		t.Fatalf("transposed output %d×%d, want %d×%d", tg.TOutH(), tg.TOutW(), g.H, g.W)
	}
	a, b := dot(Conv2d(x, w, nil, g), y), dot(x, ConvTranspose2d(y, w, nil, tg))
	if math.Abs(a-b) > 1e-9*math.Abs(a) {
		t.Errorf("<conv(x), y> = %g, <x, conv_transpose(y)> = %g", a, b)
	}
}

func TestLinearGradients(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	n, in, out := 3, 5, 4
	x, w, b := randn(r, n*in, 1), randn(r, out*in, 1), randn(r, out, 1)
	proj := randn(r, n*out, 1)
	loss := func() float64 { return dot(proj, Linear(x, w, b, n, in, out)) }
	dx, dw, db := LinearBackward(proj, x, w, n, in, out)
	checkGrad(t, "linear dx", x, dx, loss)
	checkGrad(t, "linear dw", w, dw, loss)
	checkGrad(t, "linear db", b, db, loss)
}

func TestBatchNormGradients(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	n, c, l := 3, 4, 5
	x, gamma, beta := randn(r, n*c*l, 2), randn(r, c, 1), randn(r, c, 1)
	proj := randn(r, n*c*l, 1)
	loss := func() float64 { y, _, _ := BatchNorm2d(x, gamma, beta, n, c, l, 1e-5); return dot(proj, y) }
	dx, dg, db := BatchNorm2dBackward(proj, x, gamma, n, c, l, 1e-5)
	checkGrad(t, "batch_norm2d dx", x, dx, loss)
	checkGrad(t, "batch_norm2d dgamma", gamma, dg, loss)
	checkGrad(t, "batch_norm2d dbeta", beta, db, loss)
}

func TestBatchNormEvalGradients(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	n, c, l := 3, 4, 5
	x, gamma, beta := randn(r, n*c*l, 2), randn(r, c, 1), randn(r, c, 1)
	mean, variance := randn(r, c, 1), randn(r, c, 1)
	for i := range variance {
		variance[i] = variance[i]*variance[i] + 0.3
	}
	proj := randn(r, n*c*l, 1)
	loss := func() float64 { return dot(proj, BatchNorm2dEval(x, gamma, beta, mean, variance, n, c, l, 1e-5)) }
	checkGrad(t, "batch_norm2d eval dx", x, BatchNorm2dEvalBackward(proj, gamma, variance, n, c, l, 1e-5), loss)
}

// The completion loss's gradients are its derivatives (x away from the
// kinks of |x − y|).
func TestCompletionLossGradients(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	b, p := 3, 11
	x, y, w, logit := randn(r, b*p, 1), randn(r, b*p, 1), randn(r, b*p, 1), randn(r, b, 2)
	for i := range w {
		w[i] = math.Abs(w[i])
	}
	sum := func(v []float64) (s float64) {
		for _, e := range v {
			s += e
		}
		return s
	}
	_, dx, dl := CompletionLoss(x, y, w, logit, b, p, 0.3)
	checkGrad(t, "completion loss dx", x, dx, func() float64 { l, _, _ := CompletionLoss(x, y, w, logit, b, p, 0.3); return sum(l) })
	checkGrad(t, "completion loss dlogit", logit, dl, func() float64 { l, _, _ := CompletionLoss(x, y, w, logit, b, p, 0.3); return sum(l) })
}

func TestActivationGradients(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	x := randn(r, 50, 2)
	proj := randn(r, 50, 1)
	for _, a := range []Act{None, Leaky, Tanh, Sigmoid} {
		loss := func() float64 { return dot(proj, Activate(a, 0.2, x)) }
		checkGrad(t, "activation", x, ActivateBackward(a, 0.2, x, proj), loss)
	}
}

func TestBCEGradient(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	logit := randn(r, 9, 3)
	for _, target := range []float64{0, 1} {
		_, d, _ := BCEWithLogits(logit, target)
		checkGrad(t, "bce", logit, d, func() float64 { l, _, _ := BCEWithLogits(logit, target); return l })
	}
	// Stable for large logits: no Inf, the exact limit.
	l, _, _ := BCEWithLogits([]float64{-1000, 1000}, 1)
	if l != 500 {
		t.Errorf("bce of logits ±1000 against 1 = %g, want 500", l)
	}
}

// Known answers from Random123's kat_vectors for philox4x32_10.
func TestHingeGradient(t *testing.T) {
	logit := randn(rand.New(rand.NewSource(5)), 40, 2)
	for role := range 3 {
		_, d, _ := Hinge(logit, role)
		checkGrad(t, fmt.Sprint("hinge role ", role), logit, d, func() float64 { l, _, _ := Hinge(logit, role); return l })
	}
}

func TestPhiloxKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		if got := Philox(c.ctr, c.key); got != c.want {
			t.Errorf("Philox(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestNormalMoments(t *testing.T) {
	z := Normal(100003, 42, 7, 1)
	var s, q float64
	for _, v := range z {
		s += v
		q += v * v
	}
	mean, variance := s/float64(len(z)), q/float64(len(z))-(s/float64(len(z)))*(s/float64(len(z)))
	if math.Abs(mean) > 0.02 || math.Abs(variance-1) > 0.02 {
		t.Errorf("mean %g, variance %g of 100003 draws; want about 0 and 1", mean, variance)
	}
	if z2 := Normal(8, 42, 8, 1); z2[0] == z[0] {
		t.Errorf("a new step drew the same first value")
	}
}

func TestDropoutMaskRate(t *testing.T) {
	m := DropoutMask(100000, 0.3, 1, 2, 3)
	kept := 0
	for _, v := range m {
		if v != 0 {
			kept++
			if math.Abs(v-1/0.7) > 1e-12 {
				t.Fatalf("kept value scaled by %g, want 1/0.7", v)
			}
		}
	}
	if rate := float64(kept) / 1e5; math.Abs(rate-0.7) > 0.01 {
		t.Errorf("kept %.3f of the values, want about 0.7", rate)
	}
}

func TestTolCheck(t *testing.T) {
	if err := Sum.Check([]float64{1, 2.0001}, []float64{1, 2}); err != nil {
		t.Errorf("2.0001 vs 2 at the sum level: %v", err)
	}
	if err := Pointwise.Check([]float64{1, 2.1}, []float64{1, 2}); err == nil {
		t.Errorf("2.1 vs 2 passed the pointwise level")
	}
	if err := Exact.Check([]float64{math.NaN()}, []float64{0}); err == nil {
		t.Errorf("NaN vs 0 passed")
	}
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	const n, k = 5, 4
	logit := randn(r, n*k, 3)
	labels := []int{0, 3, 1, 1, 2}
	_, d, _ := SoftmaxCrossEntropy(logit, labels, k)
	checkGrad(t, "softmax cross-entropy", logit, d, func() float64 { l, _, _ := SoftmaxCrossEntropy(logit, labels, k); return l })
	// Equal logits: log k, and the first of equal ones is the prediction.
	l, _, acc := SoftmaxCrossEntropy([]float64{7, 7, 7, 7, 1000, 1000, 1000, 1000}, []int{0, 1}, k)
	if math.Abs(l-math.Log(k)) > 1e-12 || acc != 0.5 {
		t.Errorf("equal logits: loss %g (want log %d = %g), accuracy %g (want 0.5)", l, k, math.Log(k), acc)
	}
}

// Spectral norm's gradient with u and v held: L = ⟨g, w/σ(w)⟩, σ = uᵀwv.
// And its power iteration converges to the largest singular value of a
// matrix whose singular values are known (diagonal 3, 2, 1 in a 3×4).
func TestSpectralNormGradient(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	const rows, cols = 3, 5
	w, g := randn(r, rows*cols, 1), randn(r, rows*cols, 1)
	u, v := randn(r, rows, 1), randn(r, cols, 1)
	wsn, sigma := SpectralNorm(w, u, v, rows, cols, true)
	dw := SpectralNormBackward(g, wsn, u, v, sigma)
	checkGrad(t, "spectral norm", w, dw, func() float64 {
		wsn, _ := SpectralNorm(w, u, v, rows, cols, false)
		return dot(g, wsn)
	})

	d := []float64{3, 0, 0, 0, 0, -2, 0, 0, 0, 0, 1, 0}
	u, v = []float64{1, 1, 1}, make([]float64, 4)
	for range 30 {
		_, sigma = SpectralNorm(d, u, v, 3, 4, true)
	}
	if math.Abs(sigma-3) > 1e-9 {
		t.Errorf("σ after 30 iterations %g, want 3", sigma)
	}
}

// The embedding's gradient is its adjoint: ⟨Embedding(t), dy⟩ = ⟨t, ∂⟩.
func TestEmbeddingGradient(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	labels := []int{2, 0, 2, 2, 1, 4}
	table, dy := randn(r, 5*3, 1), randn(r, len(labels)*3, 1)
	dt := EmbeddingBackward(dy, labels, 5, 3)
	checkGrad(t, "embedding", table, dt, func() float64 { return dot(Embedding(table, labels, 3), dy) })
	if dt[3*3] != 0 || dt[3*3+1] != 0 {
		t.Errorf("class 3, which no sample has, has gradient %v", dt[9:12])
	}
}

// Conditional batch norm's affine step: the gradients of ⟨y, dy⟩ with
// respect to x, each sample's gain and its bias, through a leaky ReLU.
func TestClassAffineGradients(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	const n, c, l = 2, 3, 4
	x, dy := randn(r, n*c*l, 1), randn(r, n*c*l, 1)
	gain, bias := randn(r, n*c, 1), randn(r, n*c, 1)
	loss := func() float64 {
		y, _ := ClassAffine(x, gain, bias, n, c, l, Leaky, 0.2)
		return dot(y, dy)
	}
	_, pre := ClassAffine(x, gain, bias, n, c, l, Leaky, 0.2)
	dx, dg, db := ClassAffineBackward(dy, x, pre, gain, n, c, l, Leaky, 0.2)
	checkGrad(t, "x", x, dx, loss)
	checkGrad(t, "gain", gain, dg, loss)
	checkGrad(t, "bias", bias, db, loss)
}

// The projection term's gradients, of ⟨Projection(logit, h, e), dl⟩.
func TestProjectionGradients(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	const n, k = 3, 5
	logit, dl := randn(r, n, 1), randn(r, n, 1)
	h, e := randn(r, n*k, 1), randn(r, n*k, 1)
	dh, de := ProjectionBackward(dl, h, e, k)
	loss := func() float64 { return dot(Projection(logit, h, e, k), dl) }
	checkGrad(t, "h", h, dh, loss)
	checkGrad(t, "e", e, de, loss)
}
