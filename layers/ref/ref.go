// Package ref holds plain-Go references for every op in layers, in float64,
// written from the definitions (scatter form where that is the natural
// reading) rather than from the shaders' gather form, so a test that holds
// a shader to its reference compares two independent derivations. The
// references are for tests; the product never runs them.
//
// Layouts are those of layers: NCHW activations, PyTorch parameter layouts.
// Backward functions return fresh gradients (they do not accumulate).
package ref

import "math"

// Conv is the geometry of a Conv2d or ConvTranspose2d: an N×C×H×W input, K
// output channels, a KH×KW kernel, stride, padding, and (transposed only)
// output padding.
type Conv struct {
	N, C, H, W, K, KH, KW, Stride, Pad, OutPad int
}

// OutH and OutW are a Conv2d's output size.
func (g Conv) OutH() int { return (g.H+2*g.Pad-g.KH)/g.Stride + 1 }
func (g Conv) OutW() int { return (g.W+2*g.Pad-g.KW)/g.Stride + 1 }

// TOutH and TOutW are a ConvTranspose2d's output size.
func (g Conv) TOutH() int { return (g.H-1)*g.Stride - 2*g.Pad + g.KH + g.OutPad }
func (g Conv) TOutW() int { return (g.W-1)*g.Stride - 2*g.Pad + g.KW + g.OutPad }

// pairs calls f with the flat indices (into x, y and w) of every product
// x·w that adds into y: for a Conv2d, output (oy, ox) of channel k reads
// input (oy·S−P+r, ox·S−P+s) of channel c through w[k][c][r][s]; for a
// ConvTranspose2d, input (ih, iw) of channel c adds into output
// (ih·S−P+r, iw·S−P+s) of channel k through w[c][k][r][s]. Products that
// fall outside the input (or output) are skipped: padding is zeros.
func (g Conv) pairs(transposed bool, f func(xi, yi, wi int)) {
	OH, OW := g.OutH(), g.OutW()
	if transposed {
		OH, OW = g.TOutH(), g.TOutW()
	}
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for c := 0; c < g.C; c++ {
				for r := 0; r < g.KH; r++ {
					for s := 0; s < g.KW; s++ {
						wi := ((k*g.C+c)*g.KH+r)*g.KW + s
						if transposed {
							wi = ((c*g.K+k)*g.KH+r)*g.KW + s
							for ih := 0; ih < g.H; ih++ {
								for iw := 0; iw < g.W; iw++ {
									oy, ox := ih*g.Stride-g.Pad+r, iw*g.Stride-g.Pad+s
									if oy >= 0 && oy < OH && ox >= 0 && ox < OW {
										f(((n*g.C+c)*g.H+ih)*g.W+iw, ((n*g.K+k)*OH+oy)*OW+ox, wi)
									}
								}
							}
							continue
						}
						for oy := 0; oy < OH; oy++ {
							for ox := 0; ox < OW; ox++ {
								ih, iw := oy*g.Stride-g.Pad+r, ox*g.Stride-g.Pad+s
								if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
									f(((n*g.C+c)*g.H+ih)*g.W+iw, ((n*g.K+k)*OH+oy)*OW+ox, wi)
								}
							}
						}
					}
				}
			}
		}
	}
}

// forward is y = op(x, w) + b; b may be nil.
func (g Conv) forward(transposed bool, x, w, b []float64) []float64 {
	OH, OW := g.OutH(), g.OutW()
	if transposed {
		OH, OW = g.TOutH(), g.TOutW()
	}
	y := make([]float64, g.N*g.K*OH*OW)
	if b != nil {
		for i := range y {
			y[i] = b[i/(OH*OW)%g.K]
		}
	}
	g.pairs(transposed, func(xi, yi, wi int) { y[yi] += x[xi] * w[wi] })
	return y
}

// backward is op's gradients from dy = ∂L/∂y.
func (g Conv) backward(transposed bool, dy, x, w []float64) (dx, dw, db []float64) {
	dx, dw, db = make([]float64, len(x)), make([]float64, len(w)), make([]float64, g.K)
	l := len(dy) / (g.N * g.K)
	for i, v := range dy {
		db[i/l%g.K] += v
	}
	g.pairs(transposed, func(xi, yi, wi int) {
		dx[xi] += dy[yi] * w[wi]
		dw[wi] += dy[yi] * x[xi]
	})
	return dx, dw, db
}

// Conv2d is y = conv(x, w) + b with w K×C×KH×KW; b may be nil.
func Conv2d(x, w, b []float64, g Conv) []float64 { return g.forward(false, x, w, b) }

// Conv2dBackward is Conv2d's gradients from dy = ∂L/∂y.
func Conv2dBackward(dy, x, w []float64, g Conv) (dx, dw, db []float64) {
	return g.backward(false, dy, x, w)
}

// ConvTranspose2d is y = conv_transpose(x, w) + b with w C×K×KH×KW; b may
// be nil. Each input value scatters into the outputs its kernel reaches.
func ConvTranspose2d(x, w, b []float64, g Conv) []float64 { return g.forward(true, x, w, b) }

// ConvTranspose2dBackward is ConvTranspose2d's gradients from dy.
func ConvTranspose2dBackward(dy, x, w []float64, g Conv) (dx, dw, db []float64) {
	return g.backward(true, dy, x, w)
}

// Linear is y = x·wᵀ + b for x N×In, w Out×In; b may be nil.
func Linear(x, w, b []float64, n, in, out int) []float64 {
	y := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			var s float64
			if b != nil {
				s = b[o]
			}
			for j := 0; j < in; j++ {
				s += x[i*in+j] * w[o*in+j]
			}
			y[i*out+o] = s
		}
	}
	return y
}

// LinearBackward is Linear's gradients from dy.
func LinearBackward(dy, x, w []float64, n, in, out int) (dx, dw, db []float64) {
	dx = make([]float64, n*in)
	dw = make([]float64, out*in)
	db = make([]float64, out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			d := dy[i*out+o]
			db[o] += d
			for j := 0; j < in; j++ {
				dx[i*in+j] += d * w[o*in+j]
				dw[o*in+j] += d * x[i*in+j]
			}
		}
	}
	return dx, dw, db
}

// BatchNorm2d normalises x (N×C×L) per channel with the batch's mean and
// biased variance: y = (x − mean)/sqrt(var + eps)·γ + β. It returns the
// batch mean and the unbiased variance too (what the running statistics
// move towards).
func BatchNorm2d(x, gamma, beta []float64, n, c, l int, eps float64) (y, mean, unbiased []float64) {
	y = make([]float64, len(x))
	mean = make([]float64, c)
	unbiased = make([]float64, c)
	m := float64(n * l)
	for ch := 0; ch < c; ch++ {
		mu, q := moments(x, n, c, l, ch)
		inv := 1 / math.Sqrt(q/m+eps)
		each(n, c, l, ch, func(i int) { y[i] = (x[i]-mu)*inv*gamma[ch] + beta[ch] })
		mean[ch] = mu
		unbiased[ch] = q / math.Max(m-1, 1)
	}
	return y, mean, unbiased
}

// moments is channel ch's mean and sum of squared deviations from it, in
// two passes.
func moments(x []float64, n, c, l, ch int) (mean, sq float64) {
	each(n, c, l, ch, func(i int) { mean += x[i] })
	mean /= float64(n * l)
	each(n, c, l, ch, func(i int) { sq += (x[i] - mean) * (x[i] - mean) })
	return mean, sq
}

// BatchNorm2dEval normalises with given (running) statistics.
func BatchNorm2dEval(x, gamma, beta, mean, variance []float64, n, c, l int, eps float64) []float64 {
	y := make([]float64, len(x))
	for ch := 0; ch < c; ch++ {
		inv := 1 / math.Sqrt(variance[ch]+eps)
		each(n, c, l, ch, func(i int) { y[i] = (x[i]-mean[ch])*inv*gamma[ch] + beta[ch] })
	}
	return y
}

// BatchNorm2dEvalBackward is eval-mode BatchNorm2d's input gradient from
// dy: the running statistics are constants.
func BatchNorm2dEvalBackward(dy, gamma, variance []float64, n, c, l int, eps float64) []float64 {
	dx := make([]float64, len(dy))
	for ch := 0; ch < c; ch++ {
		inv := 1 / math.Sqrt(variance[ch]+eps)
		each(n, c, l, ch, func(i int) { dx[i] = gamma[ch] * inv * dy[i] })
	}
	return dx
}

// BatchNorm2dBackward is training-mode BatchNorm2d's gradients from dy.
func BatchNorm2dBackward(dy, x, gamma []float64, n, c, l int, eps float64) (dx, dgamma, dbeta []float64) {
	dx = make([]float64, len(x))
	dgamma = make([]float64, c)
	dbeta = make([]float64, c)
	m := float64(n * l)
	for ch := 0; ch < c; ch++ {
		mu, q := moments(x, n, c, l, ch)
		inv := 1 / math.Sqrt(q/m+eps)
		var sg, sgx float64
		each(n, c, l, ch, func(i int) { sg += dy[i]; sgx += dy[i] * (x[i] - mu) * inv })
		each(n, c, l, ch, func(i int) {
			dx[i] = gamma[ch] * inv / m * (m*dy[i] - sg - (x[i]-mu)*inv*sgx)
		})
		dgamma[ch], dbeta[ch] = sgx, sg
	}
	return dx, dgamma, dbeta
}

// each calls f with the flat index of every element of channel ch.
func each(n, c, l, ch int, f func(i int)) {
	for b := 0; b < n; b++ {
		for j := 0; j < l; j++ {
			f((b*c+ch)*l + j)
		}
	}
}

// Act is an activation, numbered as layers.Act.
type Act int

const (
	None Act = iota
	Leaky
	Tanh
	Sigmoid
)

// Activate is y = act(x).
func Activate(a Act, slope float64, x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		switch a {
		case Leaky:
			if v < 0 {
				v *= slope
			}
		case Tanh:
			v = math.Tanh(v)
		case Sigmoid:
			v = 1 / (1 + math.Exp(-v))
		}
		y[i] = v
	}
	return y
}

// ActivateBackward is dx = dy·act'(x) for the input x. Leaky ReLU's
// derivative at 0 is the slope, as PyTorch takes it (and the device, which
// sees only the output): an input that is exactly 0 is common where an
// augmentation zero-fills the image and the bias is still 0.
func ActivateBackward(a Act, slope float64, x, dy []float64) []float64 {
	dx := make([]float64, len(x))
	for i, v := range x {
		d := 1.0
		switch a {
		case Leaky:
			if v <= 0 {
				d = slope
			}
		case Tanh:
			t := math.Tanh(v)
			d = 1 - t*t
		case Sigmoid:
			s := 1 / (1 + math.Exp(-v))
			d = s * (1 - s)
		}
		dx[i] = dy[i] * d
	}
	return dx
}

// BCEWithLogits is the mean binary cross-entropy of sigmoid(logit) against
// target, its gradient, and the mean of sigmoid(logit).
func BCEWithLogits(logit []float64, target float64) (loss float64, dlogit []float64, meanProb float64) {
	dlogit = make([]float64, len(logit))
	b := float64(len(logit))
	for i, l := range logit {
		p := 1 / (1 + math.Exp(-l))
		loss += math.Max(l, 0) - l*target + math.Log1p(math.Exp(-math.Abs(l)))
		dlogit[i] = (p - target) / b
		meanProb += p
	}
	return loss / b, dlogit, meanProb / b
}

// Hinge is the mean hinge loss of the logits in a role (0: the
// discriminator on reals, relu(1 − l); 1: on fakes, relu(1 + l); 2: the
// generator, −l), its gradient, and the mean of sigmoid(logit).
func Hinge(logit []float64, role int) (loss float64, dlogit []float64, meanProb float64) {
	dlogit = make([]float64, len(logit))
	b := float64(len(logit))
	for i, l := range logit {
		switch role {
		case 0:
			loss += math.Max(1-l, 0)
			if l < 1 {
				dlogit[i] = -1 / b
			}
		case 1:
			loss += math.Max(1+l, 0)
			if l > -1 {
				dlogit[i] = 1 / b
			}
		default:
			loss -= l
			dlogit[i] = -1 / b
		}
		meanProb += 1 / (1 + math.Exp(-l))
	}
	return loss / b, dlogit, meanProb / b
}

// MeanSign is the mean of sign(l) over the logits: ADA's r_t, the
// overfitting heuristic, on the discriminator's logits for real images.
func MeanSign(logit []float64) float64 {
	var s float64
	for _, l := range logit {
		switch {
		case l > 0:
			s++
		case l < 0:
			s--
		}
	}
	return s / float64(len(logit))
}

// CompletionLoss is image completion's loss for b images of p floats:
// per image the weighted L1 distance Σ w·|x − y| and the perceptual loss
// λ·log(1 − σ(logit)) (loss[2i], loss[2i+1]), the perceptual loss's
// gradient at the logits, and the contextual loss's at x. The whole
// gradient at x adds the discriminator's backward of dlogit.
func CompletionLoss(x, y, w, logit []float64, b, p int, lambda float64) (loss, dxContext, dlogit []float64) {
	loss, dxContext, dlogit = make([]float64, 2*b), make([]float64, b*p), make([]float64, b)
	for i := 0; i < b; i++ {
		for j := i * p; j < (i+1)*p; j++ {
			d := x[j] - y[j]
			loss[2*i] += w[j] * math.Abs(d)
			switch {
			case d > 0:
				dxContext[j] = w[j]
			case d < 0:
				dxContext[j] = -w[j]
			}
		}
		l := logit[i]
		loss[2*i+1] = -lambda * (math.Max(l, 0) + math.Log1p(math.Exp(-math.Abs(l)))) // λ·log(1 − σ(l)), which would round to log 0 at l 60
		dlogit[i] = -lambda / (1 + math.Exp(-l))
	}
	return loss, dxContext, dlogit
}

// Adam is one torch.optim.Adam step at step t (counting from 1), in place.
func Adam(p, g, m, v []float64, t int, lr, beta1, beta2, eps float64) {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	for i := range p {
		m[i] = beta1*m[i] + (1-beta1)*g[i]
		v[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
		p[i] -= lr / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + eps)
	}
}

// EMA is one step of an exponential moving average at update t (counting
// from 1), in place: avg = β·avg + (1−β)·param with β = min(decay,
// 0.5^(1/(rampup·t))).
func EMA(avg, param []float64, t int, decay, rampup float64) {
	beta := math.Min(decay, math.Pow(0.5, 1/(rampup*float64(t))))
	for i := range avg {
		avg[i] = beta*avg[i] + (1-beta)*param[i]
	}
}

// SoftmaxCrossEntropy is the mean cross-entropy of softmax over each of
// the n rows of k logits against its label, its gradient, and the fraction
// of rows whose largest logit (the first of equal ones) is the label's.
func SoftmaxCrossEntropy(logit []float64, labels []int, k int) (loss float64, dlogit []float64, accuracy float64) {
	n := len(labels)
	dlogit = make([]float64, len(logit))
	for b, y := range labels {
		row := logit[b*k : (b+1)*k]
		top, arg := row[0], 0
		for j, v := range row {
			if v > top {
				top, arg = v, j
			}
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - top)
		}
		loss += math.Log(sum) - (row[y] - top)
		if arg == y {
			accuracy++
		}
		for j, v := range row {
			p := math.Exp(v-top) / sum
			if j == y {
				p--
			}
			dlogit[b*k+j] = p / float64(n)
		}
	}
	return loss / float64(n), dlogit, accuracy / float64(n)
}

// SpectralNorm is one step of spectral normalisation of a rows×cols
// weight w (torch.nn.utils.spectral_norm): with iterate, one power
// iteration updates u and v in place (v = normalize(wᵀu), u =
// normalize(wv)); then σ = uᵀwv and wsn = w/σ. normalize divides by
// max(‖x‖, 1e-12), as F.normalize does.
func SpectralNorm(w, u, v []float64, rows, cols int, iterate bool) (wsn []float64, sigma float64) {
	mv := func(x []float64) []float64 { // w·x
		y := make([]float64, rows)
		for r := range rows {
			for c := range cols {
				y[r] += w[r*cols+c] * x[c]
			}
		}
		return y
	}
	normalize := func(dst, x []float64) {
		var ss float64
		for _, e := range x {
			ss += e * e
		}
		n := math.Max(math.Sqrt(ss), 1e-12)
		for i, e := range x {
			dst[i] = e / n
		}
	}
	if iterate {
		wtu := make([]float64, cols)
		for r := range rows {
			for c := range cols {
				wtu[c] += w[r*cols+c] * u[r]
			}
		}
		normalize(v, wtu)
		normalize(u, mv(v))
	}
	for r, e := range mv(v) {
		sigma += u[r] * e
	}
	wsn = make([]float64, len(w))
	for i, e := range w {
		wsn[i] = e / sigma
	}
	return wsn, sigma
}

// SpectralNormBackward is the gradient with respect to w of a loss whose
// gradient with respect to wsn = w/σ is g, u and v held constant (as
// PyTorch holds them): (g − ⟨g, wsn⟩·u·vᵀ)/σ.
func SpectralNormBackward(g, wsn, u, v []float64, sigma float64) []float64 {
	var inner float64
	for i := range g {
		inner += g[i] * wsn[i]
	}
	cols := len(v)
	dw := make([]float64, len(g))
	for i := range g {
		dw[i] = (g[i] - inner*u[i/cols]*v[i%cols]) / sigma
	}
	return dw
}

// Embedding is nn.Embedding: row labels[n] of a classes×dim table for each
// label.
func Embedding(table []float64, labels []int, dim int) []float64 {
	y := make([]float64, len(labels)*dim)
	for n, c := range labels {
		copy(y[n*dim:(n+1)*dim], table[c*dim:(c+1)*dim])
	}
	return y
}

// EmbeddingBackward is the table's gradient: each class's row the sum of
// dy's rows labelled with it.
func EmbeddingBackward(dy []float64, labels []int, classes, dim int) []float64 {
	dt := make([]float64, classes*dim)
	for n, c := range labels {
		for j := range dim {
			dt[c*dim+j] += dy[n*dim+j]
		}
	}
	return dt
}

// ClassAffine is conditional batch norm's affine step on an n×c×l tensor:
// y = act(x·gain[n, c] + bias[n, c]), and the value before the activation.
func ClassAffine(x, gain, bias []float64, n, c, l int, a Act, slope float64) (y, pre []float64) {
	pre = make([]float64, len(x))
	for i, v := range x {
		pre[i] = v*gain[i/l] + bias[i/l]
	}
	return Activate(a, slope, pre), pre
}

// ClassAffineBackward is its gradients from dy: dx, and each sample's
// dgain and dbias (n×c each).
func ClassAffineBackward(dy, x, pre, gain []float64, n, c, l int, a Act, slope float64) (dx, dgain, dbias []float64) {
	d := ActivateBackward(a, slope, pre, dy)
	dx = make([]float64, len(x))
	dgain, dbias = make([]float64, n*c), make([]float64, n*c)
	for i := range d {
		dx[i] = d[i] * gain[i/l]
		dgain[i/l] += d[i] * x[i]
		dbias[i/l] += d[i]
	}
	return dx, dgain, dbias
}

// Projection is a projection discriminator's class term added to n logits:
// logit[n] + ⟨e[n], h[n]⟩ over k features.
func Projection(logit, h, e []float64, k int) []float64 {
	out := append([]float64(nil), logit...)
	for i := range h {
		out[i/k] += e[i] * h[i]
	}
	return out
}

// ProjectionBackward is its gradients from dl: with respect to h and to e.
func ProjectionBackward(dl, h, e []float64, k int) (dh, de []float64) {
	dh, de = make([]float64, len(h)), make([]float64, len(e))
	for i := range h {
		dh[i] = dl[i/k] * e[i]
		de[i] = dl[i/k] * h[i]
	}
	return dh, de
}
