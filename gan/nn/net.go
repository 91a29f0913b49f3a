package nn

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Mode is how a network runs a forward pass, and so its backward.
type Mode struct {
	// Train normalises with the batch's statistics (and moves batch norm's
	// running ones) and drops out with mask Mask, drawn from Clock. Eval
	// mode (false) normalises with the running statistics and passes
	// dropout's values through.
	Train bool
	Mask  int           // which of Options.Masks the dropout layers draw
	Clock *layers.Clock // draws the dropout masks
	// Labels are a conditional network's classes, one uint32 per sample,
	// which its class-conditional layers read (LayerSpec.Classes); nil
	// for an unconditional network.
	Labels *vk.Buffer
}

// Eval is eval mode: batch norm on its running statistics, no dropout.
var Eval = Mode{}

// Grads says what a backward pass computes beside the gradient flowing
// through the network.
type Grads int

const (
	WeightGrads Grads = 1 << iota // the network's parameter gradients (they accumulate)
	InputGrads                    // ∂L/∂input, for the network before it
)

// Options are how a net is built beside its store and batch size.
type Options struct {
	// Train gives the net the buffers backward needs, and its weights are
	// rearranged for the GEMMs once after each update (Prepare); an
	// inference net's are rearranged in each pass.
	Train bool
	// Tiles gives each GEMM pass its tile (nil: the heuristic's).
	Tiles layers.Tiler
	// BNMomentum is how far a training-mode forward moves batch norm's
	// running statistics towards the batch's (0: PyTorch's 0.1).
	BNMomentum float32
	// Masks is how many dropout masks each dropout layer draws from a
	// clock's tick, one per training-mode pass of an update that differs
	// (Mode.Mask picks one); each is a Philox stream of its own.
	Masks int
	// First is the row of a global batch the net's row 0 is: a
	// data-parallel rank draws its rows of the global batch's dropout masks.
	First int
}

// convOp is what Linear, Conv2d and ConvTranspose2d have in common.
type convOp interface {
	Prepare(s *vk.Sequence, w *vk.Buffer)
	Forward(s *vk.Sequence, y, x, w, b *vk.Buffer)
	Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer)
	Close()
}

// Net is a network's ops at one batch size, over a Store: one op per
// layer, the output of each layer (kept for backward), and two buffers
// that gradients flow through on the way back.
type Net struct {
	Spec  Spec
	Store *Store
	N     int
	convs []convOp
	bns   []*layers.BatchNorm2d
	drops [][]*layers.Dropout // per layer, one per mask
	cond  []*classOps         // per layer, a class-conditional layer's (class.go)
	outs  []*vk.Buffer
	grads [2]*vk.Buffer // nil for a net built for forward only
}

// NewNet builds p's network at batch n in o; nil after a failure (o.Err).
func NewNet(o *Owner, p *Store, n int, opt Options) *Net {
	if o.Err() != nil {
		return nil
	}
	d, spec := o.Device(), p.Spec
	if err := checkBatch(d, spec, n); err != nil {
		o.Fail(err)
		return nil
	}
	m := &Net{Spec: spec, Store: p, N: n,
		convs: make([]convOp, len(spec.Layers)), bns: make([]*layers.BatchNorm2d, len(spec.Layers)),
		drops: make([][]*layers.Dropout, len(spec.Layers)), cond: make([]*classOps, len(spec.Layers)),
		outs: make([]*vk.Buffer, len(spec.Layers))}
	keep := func(c interface{ Close() }, err error) {
		if err != nil {
			o.Fail(fmt.Errorf("nn: building the %s: %w", spec.Name, err))
			return
		}
		Keep(o, c, nil)
	}
	tiles, train := opt.Tiles, opt.Train
	largest := 0 // the largest activation a gradient passes through
	for i, l := range spec.Layers {
		switch l.Kind {
		case Dense:
			c, err := layers.NewLinear(d, l.linear(n, tiles, train))
			m.convs[i] = c
			keep(c, err)
		case Conv:
			c, err := layers.NewConv2d(d, l.conv2d(n, tiles, train))
			m.convs[i] = c
			keep(c, err)
		case ConvT:
			c, err := layers.NewConvTranspose2d(d, l.convT2d(n, tiles, train))
			m.convs[i] = c
			keep(c, err)
		case BatchNorm:
			act := l.Act
			if l.Classes > 0 {
				act = layers.Activation{} // the class affine after it applies it
			}
			b, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: l.K, H: l.OH, W: l.OW, Act: act, Momentum: opt.BNMomentum})
			m.bns[i] = b
			keep(b, err)
		case Dropout:
			for mask := range opt.Masks {
				dr, err := layers.NewDropoutFrom(d, opt.First*l.OutCount(), n*l.OutCount(), l.P, DropStream(opt.Masks, i, mask))
				m.drops[i] = append(m.drops[i], dr)
				keep(dr, err)
			}
		}
		if l.Classes > 0 {
			m.cond[i] = newClassOps(o, spec, i, n, train)
		}
		m.outs[i] = o.Buffer(fmt.Sprintf("%s.%d output", spec.Name, l.Module), n*l.OutCount())
		if o.Err() != nil {
			return nil
		}
		if i < len(spec.Layers)-1 {
			largest = max(largest, n*l.OutCount())
		}
	}
	if train && largest > 0 {
		for j := range m.grads {
			m.grads[j] = o.Buffer(fmt.Sprintf("%s gradient %d", spec.Name, j), largest)
		}
	}
	if o.Err() != nil {
		return nil
	}
	return m
}

// checkBatch refuses a batch whose tensors the device cannot bind: the
// kernels see every tensor through a texel buffer view, which holds at most
// MaxTexelBufferElements floats.
func checkBatch(d *vk.Device, spec Spec, n int) error {
	limit := int(d.Info().MaxTexelBufferElements)
	per := spec.Layers[0].InCount()
	for _, l := range spec.Layers {
		per = max(per, l.OutCount())
	}
	if n*per > limit {
		return fmt.Errorf("batch %d is too large for %s: the %s's largest tensor would hold %d floats, more than its texel buffers' %d; use --batch %d or less",
			n, d.Info().Name, spec.Name, n*per, limit, limit/per)
	}
	return nil
}

// DropStream is the Philox stream of layer i's dropout mask of masks;
// stream 0 is the latent draw's.
func DropStream(masks, i, mask int) int { return 1 + masks*i + mask }

// Out is the network's output: n images, or n logits.
func (m *Net) Out() *vk.Buffer { return m.outs[len(m.outs)-1] }

// LayerOut is layer i's output.
func (m *Net) LayerOut(i int) *vk.Buffer { return m.outs[i] }

func (m *Net) input(x *vk.Buffer, i int) *vk.Buffer {
	if i == 0 {
		return x
	}
	return m.outs[i-1]
}

// Weights says why Prepare runs.
type Weights int

const (
	// Loaded weights were written from the host (initialised, or read
	// from a checkpoint): spectral norm takes σ from the kept u and v.
	Loaded Weights = iota
	// Updated weights were changed by an update: spectral norm takes a
	// power iteration first, one per update.
	Updated
)

// Prepare records what the passes read of the weights, made from the
// trained ones: a spectrally normalised layer's W/σ, and the
// rearrangement of every weight for the GEMMs, which a training net reads
// from then on. It runs after each change to the weights (Adam), and once
// before the first pass.
func (m *Net) Prepare(s *vk.Sequence, why Weights) {
	for i, l := range m.Spec.Layers {
		if !l.Kind.GEMM() {
			continue
		}
		s.Scope(Scope(m.Spec.LayerName(i), PhaseBackward))
		if sn, w := m.Store.SN[i], m.Store.Layers[i][0].Val; sn != nil {
			if why == Updated {
				sn.Op.Iterate(s, sn.U, sn.V, w)
			} else {
				sn.Op.Estimate(s, sn.U, sn.V, w)
			}
			sn.Op.Apply(s, sn.Weight, w)
		}
		m.convs[i].Prepare(s, m.weight(i))
	}
}

// weight is what layer i's passes read as its weight: W/σ for a
// spectrally normalised layer.
func (m *Net) weight(i int) *vk.Buffer {
	if sn := m.Store.SN[i]; sn != nil {
		return sn.Weight
	}
	return m.Store.Layers[i][0].Val
}

// Forward records the network on x in mode md.
func (m *Net) Forward(s *vk.Sequence, x *vk.Buffer, md Mode) {
	for i, l := range m.Spec.Layers {
		in, out, ps := m.input(x, i), m.outs[i], m.Store.Layers[i]
		s.Scope(Scope(m.Spec.LayerName(i), PhaseForward))
		switch l.Kind {
		case Dense, Conv, ConvT:
			m.convs[i].Forward(s, out, in, m.weight(i), bias(l, ps))
			if c := m.cond[i]; c != nil {
				c.project(s, out, in, ps, md)
			}
		case BatchNorm:
			if c := m.cond[i]; c != nil {
				c.normalize(s, m.bns[i], out, in, ps, m.Store.Running[i], md)
			} else if md.Train {
				m.bns[i].Forward(s, out, in, ps[0].Val, ps[1].Val, m.Store.Running[i])
			} else {
				m.bns[i].ForwardEval(s, out, in, ps[0].Val, ps[1].Val, m.Store.Running[i])
			}
		case Dropout:
			if md.Train {
				m.drop(i, md).Forward(s, out, in, md.Clock)
			} else {
				s.Copy(out, in)
			}
		}
	}
}

// drop is layer i's dropout op for mode md's mask.
func (m *Net) drop(i int, md Mode) *layers.Dropout {
	if md.Mask < 0 || md.Mask >= len(m.drops[i]) {
		panic(fmt.Sprintf("nn: the %s was built with %d dropout masks; a training-mode pass asks for mask %d", m.Spec.Name, len(m.drops[i]), md.Mask))
	}
	return m.drops[i][md.Mask]
}

// ForwardAgain records what a second training-mode forward on the same x
// and weights would change: batch norm's running statistics move again.
// Everything else it would compute is what the last forward left in place.
func (m *Net) ForwardAgain(s *vk.Sequence, x *vk.Buffer) {
	for i, l := range m.Spec.Layers {
		if l.Kind == BatchNorm {
			s.Scope(Scope(m.Spec.LayerName(i), PhaseForward))
			m.bns[i].MoveRunning(s, m.input(x, i), m.Store.Running[i])
		}
	}
}

func bias(l LayerSpec, ps []*Param) *vk.Buffer {
	if l.Bias {
		return ps[1].Val
	}
	return nil
}

func biasGrad(l LayerSpec, ps []*Param) *vk.Buffer {
	if l.Bias {
		return ps[1].Grad
	}
	return nil
}

// Backward records the gradients of the last forward on x, in mode md,
// from dy = ∂L/∂output (which it may overwrite). After an Eval forward it
// is eval mode's gradient (batch norm's running statistics and dropout's
// identity are constants), for gradients with respect to the input only.
// With InputGrads, dx receives ∂L/∂x. With WeightGrads the parameters'
// gradients accumulate into their Grad buffers; without, the weight
// gradients are skipped (batch norm's γ and β gradients come with its data
// gradient and still accumulate: the update that uses them zeroes them
// first).
func (m *Net) Backward(s *vk.Sequence, x, dy, dx *vk.Buffer, md Mode, g Grads) {
	if g&InputGrads == 0 {
		dx = nil
	}
	other := func(b *vk.Buffer) *vk.Buffer {
		if b == m.grads[0] {
			return m.grads[1]
		}
		return m.grads[0]
	}
	for i := len(m.Spec.Layers) - 1; i >= 0; i-- {
		l, ps := m.Spec.Layers[i], m.Store.Layers[i]
		in, out := m.input(x, i), m.outs[i]
		target := dx // where ∂L/∂in goes
		s.Scope(Scope(m.Spec.LayerName(i), PhaseBackward))
		if i > 0 {
			target = other(dy)
		}
		switch l.Kind {
		case Dense, Conv, ConvT:
			var dw, db *vk.Buffer
			if g&WeightGrads != 0 {
				dw, db = ps[0].Grad, biasGrad(l, ps)
			}
			m.convs[i].Backward(s, target, dw, db, dy, in, m.weight(i), out)
			if c := m.cond[i]; c != nil {
				c.projectBackward(s, target, dy, in, ps, md, g)
			}
		case BatchNorm:
			if i > 0 {
				target = dy // in place
			}
			if target == nil {
				target = dy
			}
			if c := m.cond[i]; c != nil {
				c.normalizeBackward(s, m.bns[i], target, dy, in, out, ps, m.Store.Running[i], md, g)
			} else if !md.Train { // the running statistics: no γ, β gradients
				m.bns[i].BackwardEval(s, target, dy, out, ps[0].Val, m.Store.Running[i])
			} else {
				m.bns[i].Backward(s, target, ps[0].Grad, ps[1].Grad, dy, in, out, ps[0].Val)
			}
		case Dropout:
			if i > 0 {
				target = dy
			}
			switch {
			case target == nil:
			case !md.Train: // eval mode passes values through
				if target != dy {
					s.Copy(target, dy)
				}
			default:
				m.drop(i, md).Backward(s, target, dy, md.Clock)
			}
		}
		if target == nil {
			return
		}
		dy = target
	}
}
