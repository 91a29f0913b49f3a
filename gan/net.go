package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// convOp is what Linear, Conv2d and ConvTranspose2d have in common.
type convOp interface {
	Prepare(s *vk.Sequence, w *vk.Buffer)
	Forward(s *vk.Sequence, y, x, w, b *vk.Buffer)
	Backward(s *vk.Sequence, dx, dw, db, dy, x, w, y *vk.Buffer)
	Close()
}

// net is a network's ops at one batch size, over a netParams: one op per
// layer, the output of each layer (kept for backward), and two buffers
// that gradients flow through on the way back.
type net struct {
	spec  netSpec
	p     *netParams
	n     int
	convs []convOp
	bns   []*layers.BatchNorm2d
	drops [][masks]*layers.Dropout // a mask per discriminator pass (step.go)
	outs  []*vk.Buffer
	grads [2]*vk.Buffer // nil for a net built for forward only
	owned []interface{ Close() }
}

// The op configurations of a dense, conv or transposed-conv layer at batch
// n, each GEMM pass with the tile tiles gives it (nil: the heuristic's).
// A trainer's network (prepared) rearranges its weights for the GEMMs
// once after each update (net.prepare), not in every pass.
func (l layerSpec) linear(n int, tiles layers.Tiler, prepared bool) layers.LinearConfig {
	return layers.LinearConfig{N: n, In: l.c, Out: l.k, Bias: l.bias, Act: l.act, Tiles: tiles, PreparedWeights: prepared}
}

func (l layerSpec) conv2d(n int, tiles layers.Tiler, prepared bool) layers.Conv2dConfig {
	return layers.Conv2dConfig{N: n, C: l.c, H: l.h, W: l.w, K: l.k, KH: l.size, KW: l.size,
		Stride: l.stride, Pad: l.padding, Bias: l.bias, Act: l.act, Tiles: tiles, PreparedWeights: prepared}
}

func (l layerSpec) convT2d(n int, tiles layers.Tiler, prepared bool) layers.ConvTranspose2dConfig {
	return layers.ConvTranspose2dConfig{N: n, C: l.c, H: l.h, W: l.w, K: l.k,
		KH: l.size, KW: l.size, Stride: l.stride, Pad: l.padding, OutPad: l.outPad, Bias: l.bias, Act: l.act, Tiles: tiles,
		PreparedWeights: prepared}
}

// gemmPasses are the GEMM passes of a dense, conv or transposed-conv layer
// at batch n.
func (l layerSpec) gemmPasses(n int) (layers.Passes, bool) {
	switch l.kind {
	case dense:
		return l.linear(n, nil, false).Passes(), true
	case conv:
		return l.conv2d(n, nil, false).Passes(), true
	case convT:
		return l.convT2d(n, nil, false).Passes(), true
	}
	return layers.Passes{}, false
}

// netOptions are how a net is built beside its batch size.
type netOptions struct {
	// train gives the net the buffers backward needs, and its weights are
	// rearranged for the GEMMs once after each update (prepare); a
	// sampler's are rearranged in each pass.
	train bool
	// tiles gives each GEMM pass its tile (nil: the heuristic's).
	tiles layers.Tiler
	// bnMomentum is how far a training-mode forward moves batch norm's
	// running statistics towards the batch's (0: PyTorch's 0.1).
	bnMomentum float32
	// first is the row of a global batch the net's row 0 is: a
	// data-parallel rank draws its rows of the global batch's dropout masks.
	first int
}

// newNet builds spec's ops at batch n over p.
func newNet(d *vk.Device, p *netParams, n int, o netOptions) (*net, error) {
	train, tiles := o.train, o.tiles
	spec := p.spec
	m := &net{spec: spec, p: p, n: n,
		convs: make([]convOp, len(spec.layers)), bns: make([]*layers.BatchNorm2d, len(spec.layers)),
		drops: make([][masks]*layers.Dropout, len(spec.layers)), outs: make([]*vk.Buffer, len(spec.layers))}
	fail := func(err error) (*net, error) {
		m.Close()
		return nil, fmt.Errorf("gan: building the %s: %w", spec.name, err)
	}
	if err := checkBatch(d, spec, n); err != nil {
		return nil, err
	}
	largest := 0 // the largest activation a gradient passes through
	for i, l := range spec.layers {
		var (
			op  interface{ Close() }
			err error
		)
		switch l.kind {
		case dense:
			var c *layers.Linear
			c, err = layers.NewLinear(d, l.linear(n, tiles, train))
			m.convs[i], op = c, c
		case conv:
			var c *layers.Conv2d
			c, err = layers.NewConv2d(d, l.conv2d(n, tiles, train))
			m.convs[i], op = c, c
		case convT:
			var c *layers.ConvTranspose2d
			c, err = layers.NewConvTranspose2d(d, l.convT2d(n, tiles, train))
			m.convs[i], op = c, c
		case batchNorm:
			var b *layers.BatchNorm2d
			b, err = layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: n, C: l.k, H: l.oh, W: l.ow, Act: l.act, Momentum: o.bnMomentum})
			m.bns[i], op = b, b
		case dropout:
			for mask := range masks {
				var dr *layers.Dropout
				if dr, err = layers.NewDropoutFrom(d, o.first*l.outCount(), n*l.outCount(), l.p, dropStream(i, mask)); err != nil {
					break
				}
				m.drops[i][mask] = dr
				m.owned = append(m.owned, dr)
			}
		}
		if err != nil {
			return fail(err)
		}
		if op != nil {
			m.owned = append(m.owned, op)
		}
		out, err := d.NewBuffer(fmt.Sprintf("%s.%d output", spec.name, l.module), 4*n*l.outCount())
		if err != nil {
			return fail(err)
		}
		m.outs[i] = out
		m.owned = append(m.owned, out)
		if i < len(spec.layers)-1 {
			largest = max(largest, n*l.outCount())
		}
	}
	if train && largest > 0 {
		for j := range m.grads {
			g, err := d.NewBuffer(fmt.Sprintf("%s gradient %d", spec.name, j), 4*largest)
			if err != nil {
				return fail(err)
			}
			m.grads[j] = g
			m.owned = append(m.owned, g)
		}
	}
	return m, nil
}

// checkBatch refuses a batch whose tensors the device cannot bind: the
// kernels see every tensor through a texel buffer view, which holds at most
// MaxTexelBufferElements floats.
func checkBatch(d *vk.Device, spec netSpec, n int) error {
	limit := int(d.Info().MaxTexelBufferElements)
	per := spec.layers[0].inCount()
	for _, l := range spec.layers {
		per = max(per, l.outCount())
	}
	if n*per > limit {
		return fmt.Errorf("batch %d is too large for %s: the %s's largest tensor would hold %d floats, more than its texel buffers' %d; use --batch %d or less",
			n, d.Info().Name, spec.name, n*per, limit, limit/per)
	}
	return nil
}

// dropStream is the Philox stream of layer i's dropout mask; stream 0 is
// the latent draw's.
func dropStream(i, mask int) int { return 1 + masks*i + mask }

// Close destroys the ops and buffers.
func (m *net) Close() {
	for i := len(m.owned) - 1; i >= 0; i-- {
		m.owned[i].Close()
	}
	m.owned = nil
}

// out is the network's output: n images, or n logits.
func (m *net) out() *vk.Buffer { return m.outs[len(m.outs)-1] }

func (m *net) input(x *vk.Buffer, i int) *vk.Buffer {
	if i == 0 {
		return x
	}
	return m.outs[i-1]
}

// prepare records the rearrangement of every weight for the GEMMs, which
// a trainer's network reads from then on: after each change to the
// weights (Adam), and once before the first pass (Trainer.weightsChanged).
func (m *net) prepare(s *vk.Sequence) {
	for i, l := range m.spec.layers {
		if l.kind == dense || l.kind == conv || l.kind == convT {
			s.Scope(scope(m.spec.layerName(i), phaseBackward))
			m.convs[i].Prepare(s, m.p.layers[i][0].val)
		}
	}
}

// forward records the network on x as pass p runs it. In training mode
// (every pass of a step) batch norm uses the batch's statistics (and moves
// its running ones) and dropout draws p's mask from clock; in evalPass
// batch norm uses the running statistics and dropout passes values
// through.
func (m *net) forward(s *vk.Sequence, x *vk.Buffer, p pass, clock *layers.Clock) {
	train := p != evalPass
	for i, l := range m.spec.layers {
		in, out, ps := m.input(x, i), m.outs[i], m.p.layers[i]
		s.Scope(scope(m.spec.layerName(i), phaseForward))
		switch l.kind {
		case dense, conv, convT:
			m.convs[i].Forward(s, out, in, ps[0].val, bias(ps))
		case batchNorm:
			if train {
				m.bns[i].Forward(s, out, in, ps[0].val, ps[1].val, m.p.running[i])
			} else {
				m.bns[i].ForwardEval(s, out, in, ps[0].val, ps[1].val, m.p.running[i])
			}
		case dropout:
			if train {
				m.drops[i][p].Forward(s, out, in, clock)
			} else {
				s.Copy(out, in)
			}
		}
	}
}

// forwardAgain records what a second training-mode forward on the same x
// and weights would change: batch norm's running statistics move again.
// Everything else it would compute is what the last forward left in place.
func (m *net) forwardAgain(s *vk.Sequence, x *vk.Buffer) {
	for i, l := range m.spec.layers {
		if l.kind == batchNorm {
			s.Scope(scope(m.spec.layerName(i), phaseForward))
			m.bns[i].MoveRunning(s, m.input(x, i), m.p.running[i])
		}
	}
}

func bias(ps []*tensor) *vk.Buffer {
	if len(ps) > 1 {
		return ps[1].val
	}
	return nil
}

func biasGrad(ps []*tensor) *vk.Buffer {
	if len(ps) > 1 {
		return ps[1].grad
	}
	return nil
}

// backward records the gradients of the last forward on x, pass p, from
// dy = ∂L/∂output (which it may overwrite). After an evalPass forward it
// is eval mode's gradient (batch norm's running statistics and dropout's
// identity are constants), for gradients with respect to the input only. With inputGrads, dx receives
// ∂L/∂x. With weightGrads the parameters' gradients accumulate into their
// grad buffers; without, the weight gradients are skipped (batch norm's γ
// and β gradients come with its data gradient and still accumulate: the
// update that uses them zeroes them first).
func (m *net) backward(s *vk.Sequence, x, dy, dx *vk.Buffer, p pass, g grads, clock *layers.Clock) {
	if g&inputGrads == 0 {
		dx = nil
	}
	other := func(b *vk.Buffer) *vk.Buffer {
		if b == m.grads[0] {
			return m.grads[1]
		}
		return m.grads[0]
	}
	for i := len(m.spec.layers) - 1; i >= 0; i-- {
		l, ps := m.spec.layers[i], m.p.layers[i]
		in, out := m.input(x, i), m.outs[i]
		target := dx // where ∂L/∂in goes
		s.Scope(scope(m.spec.layerName(i), phaseBackward))
		if i > 0 {
			target = other(dy)
		}
		switch l.kind {
		case dense, conv, convT:
			var dw, db *vk.Buffer
			if g&weightGrads != 0 {
				dw, db = ps[0].grad, biasGrad(ps)
			}
			m.convs[i].Backward(s, target, dw, db, dy, in, ps[0].val, out)
		case batchNorm:
			if i > 0 {
				target = dy // in place
			}
			if target == nil {
				target = dy
			}
			if p == evalPass { // the running statistics: no γ, β gradients
				m.bns[i].BackwardEval(s, target, dy, out, ps[0].val, m.p.running[i])
			} else {
				m.bns[i].Backward(s, target, ps[0].grad, ps[1].grad, dy, in, out, ps[0].val)
			}
		case dropout:
			if i > 0 {
				target = dy
			}
			switch {
			case target == nil:
			case p == evalPass: // eval mode passes values through
				if target != dy {
					s.Copy(target, dy)
				}
			default:
				m.drops[i][p].Backward(s, target, dy, clock)
			}
		}
		if target == nil {
			return
		}
		dy = target
	}
}

// zeroGrads records setting every parameter gradient to 0: one fill of
// the store's gradient buffer.
func (p *netParams) zeroGrads(s *vk.Sequence) { s.Fill(p.grad, 0) }
