package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// BatchNorm2dConfig describes a BatchNorm2d: PyTorch's nn.BatchNorm2d(C,
// Eps, Momentum) on N×C×H×W, with an optional activation fused after it.
// Zero Eps and Momentum mean PyTorch's defaults, 1e-5 and 0.1.
type BatchNorm2dConfig struct {
	N, C, H, W int
	Eps        float32
	Momentum   float32
	Act        Activation
}

// BatchNorm2d records batch normalisation. γ (weight) and β (bias) are C
// floats; running holds the running mean then the running variance (2C
// floats; start them at 0 and 1). It owns two small buffers: the batch mean
// and 1/sqrt(var+ε) that forward saves for backward, and backward's
// per-channel sums.
type BatchNorm2d struct {
	Config BatchNorm2dConfig
	ks     parts

	stats, apply, eval, bwdReduce, bwdData, bwdEval *vk.Kernel
	saved, sums                                     *vk.Buffer
}

// NewBatchNorm2d builds the kernels and buffers of a BatchNorm2d.
func NewBatchNorm2d(d *vk.Device, cfg BatchNorm2dConfig) (*BatchNorm2d, error) {
	if cfg.Eps == 0 {
		cfg.Eps = 1e-5
	}
	if cfg.Momentum == 0 {
		cfg.Momentum = 0.1
	}
	if cfg.N <= 0 || cfg.C <= 0 || cfg.H <= 0 || cfg.W <= 0 {
		return nil, fmt.Errorf("layers: batch_norm2d: shape %d×%d×%d×%d must be positive", cfg.N, cfg.C, cfg.H, cfg.W)
	}
	if err := cfg.Act.check(); err != nil {
		return nil, fmt.Errorf("layers: batch_norm2d: %w", err)
	}
	b := &BatchNorm2d{Config: cfg, ks: parts{dev: d}}
	name := fmt.Sprintf("batch_norm2d %d×%d×%d", cfg.C, cfg.H, cfg.W)
	n, c, l := uint32(cfg.N), uint32(cfg.C), uint32(cfg.H*cfg.W)
	act := cfg.Act.spec()
	b.stats = b.ks.add(name, shaders.BnStatsSpecs{Reduce: reduceLocal(), N: n, C: c, L: l, Eps: cfg.Eps, Momentum: cfg.Momentum})
	apply := shaders.BnApplySpecs{Elementwise: elementwiseLocal(), Activation: act, N: n, C: c, L: l, Eps: cfg.Eps, Eval: false}
	b.apply = b.ks.add(name, apply)
	apply.Eval = true
	b.eval = b.ks.add(name+" eval", apply)
	b.bwdReduce = b.ks.add(name, shaders.BnBwdReduceSpecs{Reduce: reduceLocal(), Activation: act, N: n, C: c, L: l})
	bwd := shaders.BnBwdDataSpecs{Elementwise: elementwiseLocal(), Activation: act, N: n, C: c, L: l, Eps: cfg.Eps, Eval: false}
	b.bwdData = b.ks.add(name, bwd)
	bwd.Eval = true
	b.bwdEval = b.ks.add(name+" eval", bwd)
	b.saved = b.ks.buffer(name+" saved", 2*cfg.C)
	b.sums = b.ks.buffer(name+" sums", 2*cfg.C)
	if b.ks.err != nil {
		b.Close()
		return nil, b.ks.err
	}
	return b, nil
}

// Close destroys the kernels and buffers.
func (b *BatchNorm2d) Close() { b.ks.close() }

func (b *BatchNorm2d) count() int { c := b.Config; return c.N * c.C * c.H * c.W }

func (b *BatchNorm2d) check(op string, bufs ...*vk.Buffer) {
	sizes := []int{b.count(), b.count(), b.Config.C, b.Config.C, 2 * b.Config.C}
	names := []string{"y", "x", "gamma", "beta", "running"}
	for i, buf := range bufs {
		need("batch_norm2d "+op, names[i], buf, sizes[i])
	}
}

// Forward records training-mode normalisation with the batch's statistics,
// y = act((x − mean)/sqrt(var + ε)·γ + β), and moves the running statistics.
func (b *BatchNorm2d) Forward(s *vk.Sequence, y, x, gamma, beta, running *vk.Buffer) {
	b.check("forward", y, x, gamma, beta, running)
	b.moveRunning(s, x, running)
	s.Dispatch(b.apply, elementwise(b.count()), nil,
		shaders.BnApplyBindings[*vk.Buffer]{X: x, Stats: b.saved, Gamma: gamma, Beta: beta, Y: y}.List()...)
}

// moveRunning records the statistics pass: the batch's into saved, and
// the running statistics moved towards them.
func (b *BatchNorm2d) moveRunning(s *vk.Sequence, x, running *vk.Buffer) {
	s.Dispatch(b.stats, vk.Groups{X: uint32(b.Config.C)}, nil,
		shaders.BnStatsBindings[*vk.Buffer]{X: x, Saved: b.saved, Running: running}.List()...)
}

// MoveRunning records Forward's statistics pass alone: the running statistics
// move as a second Forward on the same x would move them, and the saved
// statistics are rewritten with what they already hold. A trainer that
// would run a network forward twice on the same input and weights runs it
// once and calls this for the second (gan's first generator update).
func (b *BatchNorm2d) MoveRunning(s *vk.Sequence, x, running *vk.Buffer) {
	need("batch_norm2d running", "x", x, b.count())
	need("batch_norm2d running", "running", running, 2*b.Config.C)
	b.moveRunning(s, x, running)
}

// ForwardEval records eval-mode normalisation with the running statistics.
func (b *BatchNorm2d) ForwardEval(s *vk.Sequence, y, x, gamma, beta, running *vk.Buffer) {
	b.check("eval", y, x, gamma, beta, running)
	s.Dispatch(b.eval, elementwise(b.count()), nil,
		shaders.BnApplyBindings[*vk.Buffer]{X: x, Stats: running, Gamma: gamma, Beta: beta, Y: y}.List()...)
}

// Backward records dx = ∂L/∂x (overwritten; it may be dy) and dγ, dβ +=
// ∂L/∂γ, ∂L/∂β, from the last training Forward's x, its output y (read
// only with an activation) and dy = ∂L/∂y.
func (b *BatchNorm2d) Backward(s *vk.Sequence, dx, dgamma, dbeta, dy, x, y, gamma *vk.Buffer) {
	n, c := b.count(), b.Config.C
	need("batch_norm2d backward", "dx", dx, n)
	need("batch_norm2d backward", "dy", dy, n)
	need("batch_norm2d backward", "x", x, n)
	need("batch_norm2d backward", "gamma", gamma, c)
	need("batch_norm2d backward", "dgamma", dgamma, c)
	need("batch_norm2d backward", "dbeta", dbeta, c)
	if b.Config.Act.Act == None {
		y = x
	} else {
		need("batch_norm2d backward", "y", y, n)
	}
	s.Dispatch(b.bwdReduce, vk.Groups{X: uint32(c)}, nil, shaders.BnBwdReduceBindings[*vk.Buffer]{
		X: x, Yb: y, DY: dy, Saved: b.saved, Sums: b.sums, DGamma: dgamma, DBeta: dbeta}.List()...)
	s.Dispatch(b.bwdData, elementwise(n), nil, shaders.BnBwdDataBindings[*vk.Buffer]{
		X: x, Yb: y, DY: dy, Saved: b.saved, Sums: b.sums, Gamma: gamma, DX: dx}.List()...)
}

// BackwardEval records dx = ∂L/∂x (overwritten; it may be dy) of eval
// mode (ForwardEval: the running statistics, which do not depend on x),
// from its output y (read only with an activation) and dy = ∂L/∂y. It
// computes no γ or β gradient: it is for gradients with respect to a
// network's input (gan's image completion), not for training.
func (b *BatchNorm2d) BackwardEval(s *vk.Sequence, dx, dy, y, gamma, running *vk.Buffer) {
	n, c := b.count(), b.Config.C
	need("batch_norm2d backward eval", "dx", dx, n)
	need("batch_norm2d backward eval", "dy", dy, n)
	need("batch_norm2d backward eval", "gamma", gamma, c)
	need("batch_norm2d backward eval", "running", running, 2*c)
	if b.Config.Act.Act == None {
		y = dy
	} else {
		need("batch_norm2d backward eval", "y", y, n)
	}
	s.Dispatch(b.bwdEval, elementwise(n), nil, shaders.BnBwdDataBindings[*vk.Buffer]{
		X: dy, Yb: y, DY: dy, Saved: running, Sums: b.sums, Gamma: gamma, DX: dx}.List()...)
}
