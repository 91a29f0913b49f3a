package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// geom is a convolution's geometry as the GEMM shaders take it: an
// N×C×H×W input, an N×K×OH×OW output, a KH×KW kernel, stride S, padding P.
type geom struct{ n, c, h, w, k, oh, ow, kh, kw, s, p int }

func (g geom) specs() []vk.Spec {
	u := func(id, v int) vk.Spec { return vk.SpecUint(uint32(id), uint32(v)) }
	return []vk.Spec{
		u(specN, g.n), u(specC, g.c), u(specH, g.h), u(specW, g.w), u(specK, g.k),
		u(specOH, g.oh), u(specOW, g.ow), u(specKH, g.kh), u(specKW, g.kw), u(specS, g.s), u(specP, g.p),
	}
}

// swap is the geometry of the transposed direction: from the output back to
// the input, with the same kernel.
func (g geom) swap() geom {
	return geom{g.n, g.k, g.oh, g.ow, g.c, g.h, g.w, g.kh, g.kw, g.s, g.p}
}

// gemm is an implicit-GEMM pass: its kernels (one, or one per output phase
// of a transposed conv) with the grid each is dispatched over, and the
// rearrangement of its weight operand (conv_wgrad has none).
type gemm struct {
	ks     []*vk.Kernel
	groups vk.Groups
	w      rowMajor4
}

// record records the pass; bufs are the kernel's bindings, with the weight
// second for conv_fwd and convt_fwd.
func (g gemm) record(s *vk.Sequence, bufs ...*vk.Buffer) {
	if g.w.count > 0 {
		bufs[1] = g.w.record(s, bufs[1])
	}
	for _, k := range g.ks {
		s.Dispatch(k, g.groups, nil, bufs...)
	}
}

// convFwd builds conv_fwd for g: rows are the K output channels, columns
// the N·OH·OW output positions.
func convFwd(ks *kernels, name string, g geom, extra ...vk.Spec) gemm {
	rows, cols := g.k, g.n*g.oh*g.ow
	t := tileFor(ks.dev, rows, cols, true)
	specs := append(append(t.specs(), g.specs()...), extra...)
	return gemm{[]*vk.Kernel{ks.add(name, shaders.ConvFwd, specs...)}, t.groups(rows, cols, 1),
		convWeight(ks, name, g.k, g.c, g.kh*g.kw)}
}

// convtFwd builds convt_fwd for g: one kernel per output phase (S² of
// them), whose columns are the N·⌈OH/S⌉·⌈OW/S⌉ positions of the phase.
func convtFwd(ks *kernels, name string, g geom, extra ...vk.Spec) gemm {
	rows, cols := g.k, g.n*ceilDiv(g.oh, g.s)*ceilDiv(g.ow, g.s)
	t := tileFor(ks.dev, rows, cols, true)
	specs := append(append(t.specs(), g.specs()...), extra...)
	out := gemm{groups: t.groups(rows, cols, 1), w: convtWeight(ks, name, g.c, g.k, g.kh*g.kw)}
	for ph := 0; ph < g.s; ph++ {
		for pw := 0; pw < g.s; pw++ {
			phase := []vk.Spec{vk.SpecUint(specPH, uint32(ph)), vk.SpecUint(specPW, uint32(pw))}
			out.ks = append(out.ks, ks.add(fmt.Sprintf("%s phase %d,%d", name, ph, pw), shaders.ConvtFwd, append(phase, specs...)...))
		}
	}
	return out
}

// convWgrad builds conv_wgrad for g (x is g's input, dy its output): rows
// are the K output channels, columns the C·KH·KW taps. It accumulates.
func convWgrad(ks *kernels, name string, g geom) gemm {
	rows, cols := g.k, g.c*g.kh*g.kw
	t := tileFor(ks.dev, rows, cols, false)
	specs := append(append(t.specs(), g.specs()...), vk.SpecBool(specAccum, true))
	return gemm{ks: []*vk.Kernel{ks.add(name, shaders.ConvWgrad, specs...)}, groups: t.groups(rows, cols, 1)}
}

// channelSum builds channel_sum over an N×C×L tensor; it accumulates.
func channelSum(ks *kernels, name string, n, c, l int) *vk.Kernel {
	return ks.add(name, shaders.ChannelSum, specLocal(),
		vk.SpecUint(specN, uint32(n)), vk.SpecUint(specC, uint32(c)), vk.SpecUint(specH, uint32(l)),
		vk.SpecBool(specAccum, true))
}

// actBwd builds act_bwd over count values.
func actBwd(ks *kernels, name string, count int, a Activation) *vk.Kernel {
	return ks.add(name, shaders.ActBwd, append(a.specs(), specLocal(), vk.SpecUint(specN, uint32(count)))...)
}

func checkGeom(op string, g geom) error {
	for _, v := range []struct {
		name string
		v    int
	}{{"batch", g.n}, {"input channels", g.c}, {"input height", g.h}, {"input width", g.w},
		{"output channels", g.k}, {"kernel height", g.kh}, {"kernel width", g.kw}, {"stride", g.s},
		{"output height", g.oh}, {"output width", g.ow}} {
		if v.v <= 0 {
			return fmt.Errorf("layers: %s: %s is %d; it must be positive", op, v.name, v.v)
		}
	}
	if g.p < 0 {
		return fmt.Errorf("layers: %s: padding is %d; it must not be negative", op, g.p)
	}
	return nil
}

// Conv2dConfig describes a Conv2d: PyTorch's nn.Conv2d(C, K, (KH, KW),
// Stride, Pad) on a batch of N inputs of H×W, with an optional activation
// fused into the forward pass.
type Conv2dConfig struct {
	N, C, H, W  int
	K           int
	KH, KW      int
	Stride, Pad int
	Bias        bool
	Act         Activation
}

// OutH and OutW are the output's height and width.
func (c Conv2dConfig) OutH() int { return (c.H+2*c.Pad-c.KH)/c.Stride + 1 }
func (c Conv2dConfig) OutW() int { return (c.W+2*c.Pad-c.KW)/c.Stride + 1 }

func (c Conv2dConfig) geom() geom {
	g := geom{c.N, c.C, c.H, c.W, c.K, 0, 0, c.KH, c.KW, c.Stride, c.Pad}
	if c.Stride > 0 {
		g.oh, g.ow = c.OutH(), c.OutW()
	}
	return g
}

// Conv2d records a 2-D convolution. x is N×C×H×W, w is K×C×KH×KW, b is K,
// y is N×K×OH×OW.
type Conv2d struct {
	Config Conv2dConfig
	g      geom
	ks     kernels

	fwd, data, wgrad gemm
	bgrad, act       *vk.Kernel
}

// NewConv2d builds the kernels of a Conv2d.
func NewConv2d(d *vk.Device, cfg Conv2dConfig) (*Conv2d, error) {
	g := cfg.geom()
	if err := checkGeom("conv2d", g); err != nil {
		return nil, err
	}
	if err := cfg.Act.check(); err != nil {
		return nil, fmt.Errorf("layers: conv2d: %w", err)
	}
	c := &Conv2d{Config: cfg, g: g, ks: kernels{dev: d}}
	name := fmt.Sprintf("conv2d %d→%d %d×%d", cfg.C, cfg.K, cfg.H, cfg.W)
	c.fwd = convFwd(&c.ks, name, g, append(cfg.Act.specs(), vk.SpecBool(specBias, cfg.Bias))...)
	c.data = convtFwd(&c.ks, name+" data", g.swap())
	c.wgrad = convWgrad(&c.ks, name+" filter", g)
	if cfg.Bias {
		c.bgrad = channelSum(&c.ks, name+" bias", g.n, g.k, g.oh*g.ow)
	}
	if cfg.Act.Act != None {
		c.act = actBwd(&c.ks, name+" act", g.n*g.k*g.oh*g.ow, cfg.Act)
	}
	if c.ks.err != nil {
		c.Close()
		return nil, c.ks.err
	}
	return c, nil
}

// Close destroys the kernels.
func (c *Conv2d) Close() { c.ks.close() }

// Forward records y = act(conv(x, w) + b). b is ignored without Bias.
func (c *Conv2d) Forward(s *vk.Sequence, y, x, w, b *vk.Buffer) {
	g := c.g
	need("conv2d forward", "x", x, g.n*g.c*g.h*g.w)
	need("conv2d forward", "w", w, g.k*g.c*g.kh*g.kw)
	need("conv2d forward", "y", y, g.n*g.k*g.oh*g.ow)
	if c.Config.Bias {
		need("conv2d forward", "b", b, g.k)
	} else {
		b = w
	}
	c.fwd.record(s, x, w, b, y)
}

// Backward records the gradients: dx = ∂L/∂x (overwritten; nil skips it),
// dw and db += ∂L/∂w, ∂L/∂b (db only with Bias). dy is ∂L/∂y; with a fused
// activation it is overwritten with the gradient before the activation,
// computed from the forward output y (y is unused without an activation).
func (c *Conv2d) Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer) {
	g := c.g
	backward(s, c.act, g.n*g.k*g.oh*g.ow, dy, y, "conv2d")
	need("conv2d backward", "x", x, g.n*g.c*g.h*g.w)
	need("conv2d backward", "w", w, g.k*g.c*g.kh*g.kw)
	need("conv2d backward", "dw", dw, g.k*g.c*g.kh*g.kw)
	if dx != nil {
		need("conv2d backward", "dx", dx, g.n*g.c*g.h*g.w)
		c.data.record(s, dy, w, w, dx)
	}
	c.wgrad.record(s, x, dy, dw)
	if c.Config.Bias {
		need("conv2d backward", "db", db, g.k)
		s.Dispatch(c.bgrad, vk.Groups{X: uint32(g.k)}, nil, dy, db)
	}
}

// backward turns dy into the gradient before a fused activation, in place.
func backward(s *vk.Sequence, act *vk.Kernel, count int, dy, y *vk.Buffer, op string) {
	need(op+" backward", "dy", dy, count)
	if act != nil {
		need(op+" backward", "y", y, count)
		s.Dispatch(act, flatGroups(count, local), nil, y, dy, dy)
	}
}

// ConvTranspose2dConfig describes a ConvTranspose2d: PyTorch's
// nn.ConvTranspose2d(C, K, (KH, KW), Stride, Pad, OutPad) on a batch of N
// inputs of H×W, with an optional activation fused into the forward pass.
// DCGAN's generator uses 5×5, stride 2, padding 2, output padding 1, which
// doubles H and W.
type ConvTranspose2dConfig struct {
	N, C, H, W          int
	K                   int
	KH, KW              int
	Stride, Pad, OutPad int
	Bias                bool
	Act                 Activation
}

// OutH and OutW are the output's height and width.
func (c ConvTranspose2dConfig) OutH() int { return (c.H-1)*c.Stride - 2*c.Pad + c.KH + c.OutPad }
func (c ConvTranspose2dConfig) OutW() int { return (c.W-1)*c.Stride - 2*c.Pad + c.KW + c.OutPad }

// ConvTranspose2d records a 2-D transposed convolution. x is N×C×H×W, w is
// C×K×KH×KW (PyTorch's layout), b is K, y is N×K×OH×OW.
type ConvTranspose2d struct {
	Config ConvTranspose2dConfig
	g      geom
	ks     kernels

	fwd, data, wgrad gemm
	bgrad, act       *vk.Kernel
}

// NewConvTranspose2d builds the kernels of a ConvTranspose2d.
func NewConvTranspose2d(d *vk.Device, cfg ConvTranspose2dConfig) (*ConvTranspose2d, error) {
	g := geom{cfg.N, cfg.C, cfg.H, cfg.W, cfg.K, cfg.OutH(), cfg.OutW(), cfg.KH, cfg.KW, cfg.Stride, cfg.Pad}
	if err := checkGeom("conv_transpose2d", g); err != nil {
		return nil, err
	}
	if cfg.OutPad < 0 || cfg.OutPad >= cfg.Stride {
		return nil, fmt.Errorf("layers: conv_transpose2d: output padding %d must be in [0, stride %d)", cfg.OutPad, cfg.Stride)
	}
	if err := cfg.Act.check(); err != nil {
		return nil, fmt.Errorf("layers: conv_transpose2d: %w", err)
	}
	c := &ConvTranspose2d{Config: cfg, g: g, ks: kernels{dev: d}}
	name := fmt.Sprintf("conv_transpose2d %d→%d %d×%d", cfg.C, cfg.K, cfg.H, cfg.W)
	c.fwd = convtFwd(&c.ks, name, g, append(cfg.Act.specs(), vk.SpecBool(specBias, cfg.Bias))...)
	// Backward-data is a conv from the output back to the input; the filter
	// gradient is conv_wgrad with the output in x's place and the input in
	// dy's, which writes C×K×KH×KW.
	c.data = convFwd(&c.ks, name+" data", g.swap())
	c.wgrad = convWgrad(&c.ks, name+" filter", g.swap())
	if cfg.Bias {
		c.bgrad = channelSum(&c.ks, name+" bias", g.n, g.k, g.oh*g.ow)
	}
	if cfg.Act.Act != None {
		c.act = actBwd(&c.ks, name+" act", g.n*g.k*g.oh*g.ow, cfg.Act)
	}
	if c.ks.err != nil {
		c.Close()
		return nil, c.ks.err
	}
	return c, nil
}

// Close destroys the kernels.
func (c *ConvTranspose2d) Close() { c.ks.close() }

// Forward records y = act(conv_transpose(x, w) + b). b is ignored without Bias.
func (c *ConvTranspose2d) Forward(s *vk.Sequence, y, x, w, b *vk.Buffer) {
	g := c.g
	need("conv_transpose2d forward", "x", x, g.n*g.c*g.h*g.w)
	need("conv_transpose2d forward", "w", w, g.c*g.k*g.kh*g.kw)
	need("conv_transpose2d forward", "y", y, g.n*g.k*g.oh*g.ow)
	if c.Config.Bias {
		need("conv_transpose2d forward", "b", b, g.k)
	} else {
		b = w
	}
	c.fwd.record(s, x, w, b, y)
}

// Backward records the gradients, as Conv2d.Backward does.
func (c *ConvTranspose2d) Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer) {
	g := c.g
	backward(s, c.act, g.n*g.k*g.oh*g.ow, dy, y, "conv_transpose2d")
	need("conv_transpose2d backward", "x", x, g.n*g.c*g.h*g.w)
	need("conv_transpose2d backward", "w", w, g.c*g.k*g.kh*g.kw)
	need("conv_transpose2d backward", "dw", dw, g.c*g.k*g.kh*g.kw)
	if dx != nil {
		need("conv_transpose2d backward", "dx", dx, g.n*g.c*g.h*g.w)
		c.data.record(s, dy, w, w, dx)
	}
	c.wgrad.record(s, dy, x, dw)
	if c.Config.Bias {
		need("conv_transpose2d backward", "db", db, g.k)
		s.Dispatch(c.bgrad, vk.Groups{X: uint32(g.k)}, nil, dy, db)
	}
}

// LinearConfig describes a Linear: PyTorch's nn.Linear(In, Out) on a batch
// of N, y = act(x·wᵀ + b), with w Out×In.
type LinearConfig struct {
	N, In, Out int
	Bias       bool
	Act        Activation
}

// Linear records a dense layer. It is the 1×1 case of Conv2d: x N×In is
// N×In×1×1, w Out×In is Out×In×1×1.
type Linear struct {
	Config LinearConfig
	*Conv2d
}

// NewLinear builds the kernels of a Linear.
func NewLinear(d *vk.Device, cfg LinearConfig) (*Linear, error) {
	c, err := NewConv2d(d, Conv2dConfig{N: cfg.N, C: cfg.In, H: 1, W: 1, K: cfg.Out, KH: 1, KW: 1, Stride: 1, Bias: cfg.Bias, Act: cfg.Act})
	if err != nil {
		return nil, fmt.Errorf("%w (as linear)", err)
	}
	return &Linear{Config: cfg, Conv2d: c}, nil
}
