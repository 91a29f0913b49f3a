package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// SpectralNorm records spectral normalisation of one weight (Miyato et
// al. 2018; PyTorch's torch.nn.utils.spectral_norm): the layer runs on
// W_sn = W/σ, σ the largest singular value of W as a Rows×Cols matrix
// (PyTorch's weight.reshape(out, -1)), estimated by power iteration with a
// left vector u (Rows) and a right vector v (Cols) kept between updates.
//
// Iterate takes one power iteration and σ with it, as a training-mode
// forward of PyTorch's does:
//
//	v = normalize(Wᵀu)   u = normalize(Wv)   σ = uᵀWv
//
// Sigma takes σ = uᵀWv with the kept u and v (PyTorch's eval mode; a
// loaded checkpoint's), Apply writes W_sn, and Backward turns the
// gradient with respect to W_sn into the gradient with respect to W,
// holding u and v constant as PyTorch does:
//
//	∂L/∂W = (G − ⟨G, W_sn⟩·u·vᵀ) / σ,  G = ∂L/∂W_sn
//
// u and v live in the caller's buffers (they are training state); σ and
// the scratch vectors are the op's. Every sum is in a fixed order
// (shaders/sn_*.comp), so it gives the same bits on every run.
type SpectralNorm struct {
	Rows, Cols int
	ks         parts

	gemv, gemvT                      *vk.Kernel // W·v, Wᵀ·u (sn_gemv)
	normalize, normalizeSigma, sigma *vk.Kernel // sn_vec's modes 0, 1, 2
	dot, sum                         *vk.Kernel // ⟨G, W_sn⟩: partial sums, and their sum (mode 3)
	apply, grad                      *vk.Kernel // W/σ, and backward (sn_apply)

	wv, wtu    *vk.Buffer // W·v (Rows), Wᵀ·u (Cols)
	sums       *vk.Buffer // ⟨G, W_sn⟩'s partial sums, one per chunk
	sig, inner *vk.Buffer // σ, ⟨G, W_sn⟩
	chunks     int
}

// snChunk is how many floats of ⟨G, W_sn⟩ one workgroup adds.
const snChunk = 4096

// NewSpectralNorm builds spectral normalisation for a rows×cols weight.
func NewSpectralNorm(d *vk.Device, rows, cols int) (*SpectralNorm, error) {
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("layers: spectral norm: a %d×%d weight: need positive sizes", rows, cols)
	}
	sn := &SpectralNorm{Rows: rows, Cols: cols, ks: parts{dev: d}, chunks: ceilDiv(rows*cols, snChunk)}
	name := fmt.Sprintf("spectral norm %d×%d", rows, cols)
	gemv := func(what string, transpose bool) *vk.Kernel {
		return sn.ks.add(name+" "+what, shaders.SnGemvSpecs{Reduce: shaders.Reduce{LocalX: 64}, Rows: uint32(rows), Cols: uint32(cols), Transpose: transpose})
	}
	sn.gemv, sn.gemvT = gemv("Wv", false), gemv("Wᵀu", true)
	vec := func(what string, count, mode int) *vk.Kernel {
		return sn.ks.add(name+" "+what, shaders.SnVecSpecs{Reduce: shaders.Reduce{LocalX: 256}, Count: uint32(count), Mode: uint32(mode)})
	}
	sn.normalize = vec("v", cols, 0)
	sn.normalizeSigma = vec("u, σ", rows, 1)
	sn.sigma = vec("σ", rows, 2)
	sn.sum = vec("⟨G, W_sn⟩", sn.chunks, 3)
	sn.dot = sn.ks.add(name+" ⟨G, W_sn⟩ partial sums", shaders.SnDotSpecs{Reduce: shaders.Reduce{LocalX: 256}, Count: uint32(rows * cols), Chunk: snChunk})
	apply := func(what string, backward bool) *vk.Kernel {
		return sn.ks.add(name+" "+what, shaders.SnApplySpecs{LocalX: local, Rows: uint32(rows), Cols: uint32(cols), Backward: backward})
	}
	sn.apply, sn.grad = apply("W/σ", false), apply("backward", true)
	sn.wv = sn.ks.buffer(name+" Wv", rows)
	sn.wtu = sn.ks.buffer(name+" Wᵀu", cols)
	sn.sums = sn.ks.buffer(name+" partial sums", sn.chunks)
	sn.sig = sn.ks.buffer(name+" σ", 1)
	sn.inner = sn.ks.buffer(name+" ⟨G, W_sn⟩", 1)
	if sn.ks.err != nil {
		sn.Close()
		return nil, sn.ks.err
	}
	return sn, nil
}

// Close destroys the kernels and the scratch buffers.
func (sn *SpectralNorm) Close() { sn.ks.close() }

// Sigma is the buffer σ lives in (one float), for tests and the curious.
func (sn *SpectralNorm) Sigma() *vk.Buffer { return sn.sig }

func (sn *SpectralNorm) check(w, u, v *vk.Buffer) {
	need("spectral norm", "weight", w, sn.Rows*sn.Cols)
	need("spectral norm", "u", u, sn.Rows)
	need("spectral norm", "v", v, sn.Cols)
}

// Iterate records one power iteration on w, updating u and v in place,
// and σ with the new vectors.
func (sn *SpectralNorm) Iterate(s *vk.Sequence, u, v, w *vk.Buffer) {
	sn.check(w, u, v)
	s.Dispatch(sn.gemvT, flatGroups(sn.Cols), nil, shaders.SnGemvBindings[*vk.Buffer]{Wt: w, X: u, Y: sn.wtu}.List()...)
	s.Dispatch(sn.normalize, vk.Groups{X: 1}, nil, shaders.SnVecBindings[*vk.Buffer]{T: sn.wtu, X: v, Out: sn.sig}.List()...)
	s.Dispatch(sn.gemv, vk.Groups{X: uint32(sn.Rows)}, nil, shaders.SnGemvBindings[*vk.Buffer]{Wt: w, X: v, Y: sn.wv}.List()...)
	s.Dispatch(sn.normalizeSigma, vk.Groups{X: 1}, nil, shaders.SnVecBindings[*vk.Buffer]{T: sn.wv, X: u, Out: sn.sig}.List()...)
}

// Estimate records σ = uᵀWv from the kept u and v, which it leaves alone.
func (sn *SpectralNorm) Estimate(s *vk.Sequence, u, v, w *vk.Buffer) {
	sn.check(w, u, v)
	s.Dispatch(sn.gemv, vk.Groups{X: uint32(sn.Rows)}, nil, shaders.SnGemvBindings[*vk.Buffer]{Wt: w, X: v, Y: sn.wv}.List()...)
	s.Dispatch(sn.sigma, vk.Groups{X: 1}, nil, shaders.SnVecBindings[*vk.Buffer]{T: sn.wv, X: u, Out: sn.sig}.List()...)
}

// Apply records wsn = w/σ, with the σ of the last Iterate or Estimate.
func (sn *SpectralNorm) Apply(s *vk.Sequence, wsn, w *vk.Buffer) {
	need("spectral norm", "weight", w, sn.Rows*sn.Cols)
	need("spectral norm", "normalised weight", wsn, sn.Rows*sn.Cols)
	s.Dispatch(sn.apply, flatGroups(sn.Rows*sn.Cols), nil,
		shaders.SnApplyBindings[*vk.Buffer]{Y: wsn, Wt: w, U: sn.sig, V: sn.sig, Sigma: sn.sig, Dot: sn.sig}.List()...)
}

// Backward records dw = (dw − ⟨dw, wsn⟩·u·vᵀ)/σ in place: the gradient
// with respect to W_sn, accumulated by the layer's passes, becomes the
// gradient with respect to W. u, v and σ are those wsn was made with.
func (sn *SpectralNorm) Backward(s *vk.Sequence, dw, wsn, u, v *vk.Buffer) {
	sn.check(dw, u, v)
	need("spectral norm", "normalised weight", wsn, sn.Rows*sn.Cols)
	s.Dispatch(sn.dot, vk.Groups{X: uint32(sn.chunks)}, nil, shaders.SnDotBindings[*vk.Buffer]{A: dw, B: wsn, Sums: sn.sums}.List()...)
	s.Dispatch(sn.sum, vk.Groups{X: 1}, nil, shaders.SnVecBindings[*vk.Buffer]{T: sn.sums, X: sn.sums, Out: sn.inner}.List()...)
	s.Dispatch(sn.grad, flatGroups(sn.Rows*sn.Cols), nil,
		shaders.SnApplyBindings[*vk.Buffer]{Y: dw, Wt: wsn, U: u, V: v, Sigma: sn.sig, Dot: sn.inner}.List()...)
}
