package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// geom is a convolution's geometry as the GEMM shaders take it: an
// N×C×H×W input, an N×K×OH×OW output, a KH×KW kernel, stride S, padding P.
type geom struct{ n, c, h, w, k, oh, ow, kh, kw, s, p int }

func (g geom) spec() shaders.ConvGeom {
	u := func(v int) uint32 { return uint32(v) }
	return shaders.ConvGeom{N: u(g.n), C: u(g.c), H: u(g.h), W: u(g.w), K: u(g.k),
		OH: u(g.oh), OW: u(g.ow), KH: u(g.kh), KW: u(g.kw), S: u(g.s), P: u(g.p)}
}

// epilogue is what a forward pass fuses after its sums: the bias and an
// activation. The zero value fuses nothing.
type epilogue struct {
	act  shaders.Activation
	bias bool
}

// swap is the geometry of the transposed direction: from the output back to
// the input, with the same kernel.
func (g geom) swap() geom {
	return geom{g.n, g.k, g.oh, g.ow, g.c, g.h, g.w, g.kh, g.kw, g.s, g.p}
}

// gemm is an implicit-GEMM pass: its kernels (one, or one per output phase
// of a transposed conv) with the grid each is dispatched over, and the
// rearrangement of its row operand: the weight for conv_fwd and convt_fwd,
// dy for conv_wgrad. A split reduction (conv_wgrad's) writes its slices'
// partial sums to part, which sum adds into the output.
type gemm struct {
	ks     []*vk.Kernel
	groups vk.Groups
	w      rowMajor4
	bind   func(gemmIO) []*vk.Buffer // the operands as the shader's bindings

	part      *vk.Buffer
	sum       *vk.Kernel
	sumGroups vk.Groups
	sumBias   bool // the sum adds the bias and applies the activation
}

// operands binds a GEMM kernel's two operands where its loads read them
// (texel views, or their storage twins: gemm_loads.glsl) and a placeholder
// of 4 floats to the bindings it never reads, which must still hold a
// buffer the device accepts there (a storage binding no larger than
// maxStorageBufferRange, which a texel-read operand may well be).
type operands struct {
	storage bool
	none    *vk.Buffer
}

func newOperands(ks *parts, name string, t Tile) operands {
	return operands{storage: t.Loads == Storage, none: ks.buffer(name+" unread binding", 4)}
}

// texel and stored are what the texel binding and the storage binding of
// operand b get.
func (o operands) texel(b *vk.Buffer) *vk.Buffer {
	if o.storage {
		return o.none
	}
	return b
}

func (o operands) stored(b *vk.Buffer) *vk.Buffer {
	if o.storage {
		return b
	}
	return o.none
}

// gemmIO are a GEMM pass's operands: the column operand x, the row operand
// (the weight for conv_fwd and convt_fwd, dy for conv_wgrad), the bias of
// a forward pass (any buffer without one; conv_wgrad has none) and the
// output.
type gemmIO struct{ x, rows, bias, out *vk.Buffer }

// record records the pass, rearranging the row operand first.
func (g gemm) record(s *vk.Sequence, io gemmIO) {
	io.rows = g.w.record(s, io.rows)
	g.dispatch(s, io)
}

// dispatch records the pass on a row operand already rearranged.
func (g gemm) dispatch(s *vk.Sequence, io gemmIO) {
	out := io.out
	if g.part != nil {
		io.out = g.part
	}
	for _, k := range g.ks {
		s.Dispatch(k, g.groups, nil, g.bind(io)...)
	}
	if g.part != nil {
		bias := g.part // any buffer without a bias
		if g.sumBias {
			bias = io.bias
		}
		s.Dispatch(g.sum, g.sumGroups, nil, shaders.SumSlicesBindings[*vk.Buffer]{Part: g.part, B: bias, Out: out}.List()...)
	}
}

// Passes are a convolution's three GEMM passes.
type Passes struct {
	Forward, Data, Filter Pass
}

// List is the passes in order: forward, backward-data, backward-filter.
func (p Passes) List() [3]Pass { return [3]Pass{p.Forward, p.Data, p.Filter} }

// convPasses are the passes of a conv over g, or of a transposed conv. A
// conv's backward-data is a transposed conv and the other way round; a
// transposed conv's filter gradient is conv_wgrad with its output in x's
// place and its input in dy's, over the swapped geometry, which writes
// C×K×KH×KW.
func convPasses(g geom, transposed bool) Passes {
	if transposed {
		return Passes{Pass{OpConvtFwd, g}, Pass{OpConvFwd, g.swap()}, Pass{OpConvWgrad, g.swap()}}
	}
	return Passes{Pass{OpConvFwd, g}, Pass{OpConvtFwd, g.swap()}, Pass{OpConvWgrad, g}}
}

// newGEMM builds pass p with tile t (fitted to p); a forward pass fuses e.
func newGEMM(ks *parts, name string, p Pass, t Tile, e epilogue) gemm {
	switch p.Op {
	case OpConvtFwd:
		return convtFwd(ks, name, p.geom, t, e)
	case OpConvWgrad:
		return convWgrad(ks, name, p.geom, t)
	}
	return convFwd(ks, name, p.geom, t, e)
}

// convFwd builds conv_fwd for g: rows are the K output channels, columns
// the N·OH·OW output positions. With t.Split > 1 the reduction is split
// over slices of the input channels (splitForward).
func convFwd(ks *parts, name string, g geom, t Tile, e epilogue) gemm {
	rows, cols := g.k, g.n*g.oh*g.ow
	specs := shaders.ConvFwdSpecs{Gemm: t.gemm(), GemmShared: t.shared(), GemmLoads: t.loads(), ConvGeom: g.spec(), Activation: e.act,
		Bias: e.bias, Accum: false, Split: uint32(max(t.Split, 1))}
	o := newOperands(ks, name, t)
	out := gemm{ks: []*vk.Kernel{ks.add(name, specs)}, groups: t.groups(rows, cols),
		w: convWeight(ks, name, g.k, g.c, g.kh*g.kw),
		bind: func(io gemmIO) []*vk.Buffer {
			return shaders.ConvFwdBindings[*vk.Buffer]{X: o.texel(io.x), Wt: o.texel(io.rows), B: io.bias, Y: io.out,
				Xs: o.stored(io.x), Wts: o.stored(io.rows)}.List()
		}}
	splitForward(ks, name, &out, g, t, e)
	return out
}

// splitForward adds to a forward pass split into slices (conv_fwd's and
// convt_fwd's, each slice's raw sums in its own copy of y in a scratch
// buffer) the pass that adds them in order and then e: the bias and the
// fused activation.
func splitForward(ks *parts, name string, out *gemm, g geom, t Tile, e epilogue) {
	slices := max(t.Split, 1)
	if slices == 1 {
		return
	}
	ny := g.n * g.k * g.oh * g.ow
	out.groups.Y *= uint32(slices)
	out.part = ks.buffer(name+" slices", slices*ny)
	out.sum = ks.add(name+" slices", shaders.SumSlicesSpecs{LocalX: local, Activation: e.act, Slices: uint32(slices),
		Count: uint32(ny), L: uint32(g.oh * g.ow), K: uint32(g.k), Bias: e.bias, Accum: false})
	out.sumGroups = flatGroups(ny)
	out.sumBias = true
}

// convtFwd builds convt_fwd for g: one kernel per output phase (S² of
// them), whose columns are the N·⌈OH/S⌉·⌈OW/S⌉ positions of the phase.
func convtFwd(ks *parts, name string, g geom, t Tile, e epilogue) gemm {
	rows, cols := g.k, g.n*ceilDiv(g.oh, g.s)*ceilDiv(g.ow, g.s)
	specs := shaders.ConvtFwdSpecs{Gemm: t.gemm(), GemmShared: t.shared(), GemmLoads: t.loads(), ConvGeom: g.spec(), Activation: e.act,
		Bias: e.bias, Accum: false, PH: 0, PW: 0, Split: uint32(max(t.Split, 1))} // the phase is set below
	o := newOperands(ks, name, t)
	out := gemm{groups: t.groups(rows, cols), w: convtWeight(ks, name, g.c, g.k, g.kh*g.kw),
		bind: func(io gemmIO) []*vk.Buffer {
			return shaders.ConvtFwdBindings[*vk.Buffer]{X: o.texel(io.x), Wt: o.texel(io.rows), B: io.bias, Y: io.out,
				Xs: o.stored(io.x), Wts: o.stored(io.rows)}.List()
		}}
	for ph := 0; ph < g.s; ph++ {
		for pw := 0; pw < g.s; pw++ {
			specs.PH, specs.PW = uint32(ph), uint32(pw)
			out.ks = append(out.ks, ks.add(fmt.Sprintf("%s phase %d,%d", name, ph, pw), specs))
		}
	}
	splitForward(ks, name, &out, g, t, e)
	return out
}

// convWgrad builds conv_wgrad for g (x is g's input, dy its output): rows
// are the K output channels, columns the C·KH·KW taps. It accumulates.
// With t.Split > 1 the reduction is split over slices of the batch, each
// written to its own part of a scratch buffer, and sum_slices adds them in
// order.
func convWgrad(ks *parts, name string, g geom, t Tile) gemm {
	rows, cols := g.k, g.c*g.kh*g.kw
	slices := max(t.Split, 1)
	specs := shaders.ConvWgradSpecs{Gemm: t.gemm(), GemmShared: t.shared(), GemmLoads: t.loads(), ConvGeom: g.spec(),
		Accum: slices == 1, Split: uint32(slices)}
	o := newOperands(ks, name, t)
	out := gemm{ks: []*vk.Kernel{ks.add(name, specs)}, groups: t.groups(rows, cols),
		w: gradRows(ks, name, g.n, g.k, g.oh*g.ow),
		bind: func(io gemmIO) []*vk.Buffer {
			return shaders.ConvWgradBindings[*vk.Buffer]{X: o.texel(io.x), DYt: o.texel(io.rows), DW: io.out,
				Xs: o.stored(io.x), DYts: o.stored(io.rows)}.List()
		}}
	if slices > 1 {
		out.groups.Y *= uint32(slices)
		out.part = ks.buffer(name+" slices", slices*rows*cols)
		out.sum = ks.add(name+" slices", shaders.SumSlicesSpecs{LocalX: local, Activation: Activation{}.spec(),
			Slices: uint32(slices), Count: uint32(rows * cols), L: 1, K: 1, Bias: false, Accum: true})
		out.sumGroups = flatGroups(rows * cols)
	}
	return out
}

// channelSum builds channel_sum over an N×C×L tensor; it accumulates.
func channelSum(ks *parts, name string, n, c, l int) *vk.Kernel {
	return ks.add(name, shaders.ChannelSumSpecs{Reduce: reduceLocal(), N: uint32(n), C: uint32(c), L: uint32(l), Accum: true})
}

// actBwd builds act_bwd over count values.
func actBwd(ks *parts, name string, count int, a Activation) *vk.Kernel {
	return ks.add(name, shaders.ActBwdSpecs{Elementwise: elementwiseLocal(), Activation: a.spec(), Count: uint32(count)})
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

// conv is what Conv2d and ConvTranspose2d share: a forward pass, the
// passes of backward and the checks on the buffers they are given.
type conv struct {
	op   string // "conv2d" or "conv_transpose2d", for messages
	g    geom   // the forward geometry
	bias bool
	ks   parts

	fwd, data, wgrad gemm
	bgrad, act       *vk.Kernel
	transposed       bool // the filter gradient takes (dy, x) where a conv's takes (x, dy)
	prepared         bool // Forward and Backward read the weight as Prepare left it
}

// newConv builds the kernels of either op, each pass with the tile tiles
// gives it (the heuristic's where tiles is nil or has none).
func newConv(d *vk.Device, op string, g geom, bias bool, act Activation, transposed bool, tiles Tiler, prepared bool) (*conv, error) {
	if err := checkGeom(op, g); err != nil {
		return nil, err
	}
	if err := act.check(); err != nil {
		return nil, fmt.Errorf("layers: %s: %w", op, err)
	}
	c := &conv{op: op, g: g, bias: bias, ks: parts{dev: d}, transposed: transposed, prepared: prepared}
	name := fmt.Sprintf("%s %d→%d %d×%d", op, g.c, g.k, g.h, g.w)
	fused := epilogue{act: act.spec(), bias: bias}
	ps := convPasses(g, transposed)
	var tile [3]Tile
	for i, p := range ps.List() {
		t, _ := Choose(d.Info(), tiles, p)
		if err := t.Check(d.Info(), p); err != nil {
			return nil, fmt.Errorf("layers: %s: %s: %w", op, p, err)
		}
		tile[i] = t
	}
	c.fwd = newGEMM(&c.ks, name, ps.Forward, tile[0], fused)
	c.data = newGEMM(&c.ks, name+" data", ps.Data, tile[1], epilogue{})
	c.wgrad = newGEMM(&c.ks, name+" filter", ps.Filter, tile[2], epilogue{})
	if bias {
		c.bgrad = channelSum(&c.ks, name+" bias", g.n, g.k, g.oh*g.ow)
	}
	if act.Act != None {
		c.act = actBwd(&c.ks, name+" act", g.n*g.k*g.oh*g.ow, act)
	}
	if c.ks.err != nil {
		c.Close()
		return nil, c.ks.err
	}
	return c, nil
}

// Close destroys the kernels and scratch buffers.
func (c *conv) Close() { c.ks.close() }

func (c *conv) sizes() (nx, nw, ny int) {
	g := c.g
	return g.n * g.c * g.h * g.w, g.k * g.c * g.kh * g.kw, g.n * g.k * g.oh * g.ow
}

// Prepare records the rearrangements of w that the forward and
// backward-data GEMMs read (layers' rowMajor4), for an op built with
// PreparedWeights: its Forward and Backward then read them as they are,
// so its owner records Prepare after every change to w (after each
// optimizer step) and before the first use, instead of every pass
// rearranging w again.
func (c *conv) Prepare(s *vk.Sequence, w *vk.Buffer) {
	_, nw, _ := c.sizes()
	need(c.op+" prepare", "w", w, nw)
	c.fwd.w.record(s, w)
	c.data.w.record(s, w)
}

// Forward records y = act(op(x, w) + b). b is ignored without Bias.
func (c *conv) Forward(s *vk.Sequence, y, x, w, b *vk.Buffer) {
	nx, nw, ny := c.sizes()
	what := c.op + " forward"
	need(what, "x", x, nx)
	need(what, "w", w, nw)
	need(what, "y", y, ny)
	if c.bias {
		need(what, "b", b, c.g.k)
	} else {
		b = w
	}
	if c.prepared {
		c.fwd.dispatch(s, gemmIO{x, c.fwd.w.of(w), b, y})
		return
	}
	c.fwd.record(s, gemmIO{x, w, b, y})
}

// Backward records the gradients: dx = ∂L/∂x (overwritten; nil skips it),
// dw and db += ∂L/∂w, ∂L/∂b (db only with Bias; a nil dw skips both, as
// the generator's step does for the discriminator, whose parameters it
// does not update). dy is ∂L/∂y; with a fused
// activation it is overwritten with the gradient before the activation,
// computed from the forward output y (y is unused without an activation).
func (c *conv) Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer) {
	nx, nw, ny := c.sizes()
	what := c.op + " backward"
	need(what, "dy", dy, ny)
	if c.act != nil {
		need(what, "y", y, ny)
		s.Dispatch(c.act, elementwise(ny), nil, shaders.ActBwdBindings[*vk.Buffer]{Yb: y, DY: dy, DX: dy}.List()...)
	}
	need(what, "w", w, nw)
	if dx != nil {
		need(what, "dx", dx, nx)
		if c.prepared {
			c.data.dispatch(s, gemmIO{dy, c.data.w.of(w), w, dx}) // no bias: any buffer
		} else {
			c.data.record(s, gemmIO{dy, w, w, dx})
		}
	}
	if dw == nil {
		return
	}
	need(what, "x", x, nx)
	need(what, "dw", dw, nw)
	if c.transposed {
		c.wgrad.record(s, gemmIO{x: dy, rows: x, out: dw})
	} else {
		c.wgrad.record(s, gemmIO{x: x, rows: dy, out: dw})
	}
	if c.bias {
		need(what, "db", db, c.g.k)
		s.Dispatch(c.bgrad, vk.Groups{X: uint32(c.g.k)}, nil, shaders.ChannelSumBindings[*vk.Buffer]{X: dy, Out: db}.List()...)
	}
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
	Tiles       Tiler // each GEMM pass's kernel configuration; nil: the heuristic's
	// PreparedWeights: the owner records Prepare after each change to the
	// weight, and Forward and Backward read what it left (see Prepare).
	PreparedWeights bool
}

// OutH and OutW are the output's height and width.
func (c Conv2dConfig) OutH() int { return (c.H+2*c.Pad-c.KH)/c.Stride + 1 }
func (c Conv2dConfig) OutW() int { return (c.W+2*c.Pad-c.KW)/c.Stride + 1 }

// Conv2d records a 2-D convolution. x is N×C×H×W, w is K×C×KH×KW, b is K,
// y is N×K×OH×OW.
type Conv2d struct {
	Config Conv2dConfig
	*conv
}

func (c Conv2dConfig) geom() geom {
	g := geom{c.N, c.C, c.H, c.W, c.K, 0, 0, c.KH, c.KW, c.Stride, c.Pad}
	if c.Stride > 0 {
		g.oh, g.ow = c.OutH(), c.OutW()
	}
	return g
}

// Passes are the op's GEMM passes.
func (c Conv2dConfig) Passes() Passes { return convPasses(c.geom(), false) }

// NewConv2d builds the kernels of a Conv2d.
func NewConv2d(d *vk.Device, cfg Conv2dConfig) (*Conv2d, error) {
	c, err := newConv(d, "conv2d", cfg.geom(), cfg.Bias, cfg.Act, false, cfg.Tiles, cfg.PreparedWeights)
	if err != nil {
		return nil, err
	}
	return &Conv2d{cfg, c}, nil
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
	Tiles               Tiler // each GEMM pass's kernel configuration; nil: the heuristic's
	PreparedWeights     bool  // as Conv2dConfig's
}

// OutH and OutW are the output's height and width.
func (c ConvTranspose2dConfig) OutH() int { return (c.H-1)*c.Stride - 2*c.Pad + c.KH + c.OutPad }
func (c ConvTranspose2dConfig) OutW() int { return (c.W-1)*c.Stride - 2*c.Pad + c.KW + c.OutPad }

// ConvTranspose2d records a 2-D transposed convolution. x is N×C×H×W, w is
// C×K×KH×KW (PyTorch's layout), b is K, y is N×K×OH×OW.
type ConvTranspose2d struct {
	Config ConvTranspose2dConfig
	*conv
}

func (c ConvTranspose2dConfig) geom() geom {
	return geom{c.N, c.C, c.H, c.W, c.K, c.OutH(), c.OutW(), c.KH, c.KW, c.Stride, c.Pad}
}

// Passes are the op's GEMM passes.
func (c ConvTranspose2dConfig) Passes() Passes { return convPasses(c.geom(), true) }

// NewConvTranspose2d builds the kernels of a ConvTranspose2d.
func NewConvTranspose2d(d *vk.Device, cfg ConvTranspose2dConfig) (*ConvTranspose2d, error) {
	if cfg.Stride > 0 && (cfg.OutPad < 0 || cfg.OutPad >= cfg.Stride) {
		return nil, fmt.Errorf("layers: conv_transpose2d: output padding %d must be in [0, stride %d)", cfg.OutPad, cfg.Stride)
	}
	c, err := newConv(d, "conv_transpose2d", cfg.geom(), cfg.Bias, cfg.Act, true, cfg.Tiles, cfg.PreparedWeights)
	if err != nil {
		return nil, err
	}
	return &ConvTranspose2d{cfg, c}, nil
}

// LinearConfig describes a Linear: PyTorch's nn.Linear(In, Out) on a batch
// of N, y = act(x·wᵀ + b), with w Out×In.
type LinearConfig struct {
	N, In, Out int
	Bias       bool
	Act        Activation
	Tiles      Tiler // each GEMM pass's kernel configuration; nil: the heuristic's
	// PreparedWeights as Conv2dConfig's.
	PreparedWeights bool
}

func (c LinearConfig) conv() Conv2dConfig {
	return Conv2dConfig{N: c.N, C: c.In, H: 1, W: 1, K: c.Out, KH: 1, KW: 1, Stride: 1, Bias: c.Bias, Act: c.Act,
		Tiles: c.Tiles, PreparedWeights: c.PreparedWeights}
}

// Passes are the op's GEMM passes.
func (c LinearConfig) Passes() Passes { return c.conv().Passes() }

// Linear records a dense layer. It is the 1×1 case of Conv2d: x N×In is
// N×In×1×1, w Out×In is Out×In×1×1.
type Linear struct {
	Config LinearConfig
	*Conv2d
}

// NewLinear builds the kernels of a Linear.
func NewLinear(d *vk.Device, cfg LinearConfig) (*Linear, error) {
	c, err := NewConv2d(d, cfg.conv())
	if err != nil {
		return nil, fmt.Errorf("%w (as linear)", err)
	}
	return &Linear{Config: cfg, Conv2d: c}, nil
}
