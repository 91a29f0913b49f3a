package gan

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/gan-vk/gan-vk/vk"
)

// tensor is one trained parameter: a view at the same offset into each of
// its network's four parameter buffers (value, gradient, Adam's m and v).
type tensor struct {
	tensorSpec
	off             int // in floats, the same in all four buffers
	val, grad, m, v *vk.Buffer
}

// netParams is the state of one network that lives on the device. Its
// parameters are one store of four buffers with one layout, as llm.c keeps
// them: the values, their gradients and Adam's two moments, every tensor a
// named view into each. So zeroing the gradients is one fill and Adam is
// one dispatch for the whole network (parts). Beside it, the
// running statistics of its batch-norm layers, one buffer with a view per
// layer. The ops that use it (a net at some batch size) are built
// separately, so the trainer and the sampler share it. A network that is
// not trained (a loaded generator, the EMA generator) has only the values
// and the running statistics: grad, m and v are nil.
type netParams struct {
	spec            netSpec
	align           int             // the device's view alignment, in floats
	floats          int             // floats in each store buffer, the padding between tensors included
	val, grad, m, v *vk.Buffer      // the store
	stats           *vk.Buffer      // every batch norm's running statistics
	layers          [][]*tensor     // per layer: weight, bias (γ, β), as layerSpec.params
	running         []*vk.Buffer    // per layer: a view of BN running mean then variance (2C floats); nil elsewhere
	all             []*tensor       // every parameter in state_dict order
	parts           [][4]*vk.Buffer // the store in pieces an elementwise kernel can bind whole (Adam's)
	bufs            []*vk.Buffer    // the buffers above, for Close (views close with them)
}

// newNetParams allocates the state of spec's network, with the gradient
// and Adam's moments when it is trained (optimizer); its contents start
// undefined (init or a checkpoint fills them).
func newNetParams(d *vk.Device, spec netSpec, optimizer bool) (*netParams, error) {
	p := &netParams{spec: spec, layers: make([][]*tensor, len(spec.layers)), running: make([]*vk.Buffer, len(spec.layers))}
	fail := func(err error) (*netParams, error) {
		p.Close()
		return nil, fmt.Errorf("gan: the %s's parameters: %w", spec.name, err)
	}
	p.align = d.Alignment() / 4
	roundUp, align := p.roundUp, p.align
	statFloats := 0
	for i, l := range spec.layers {
		for _, ts := range l.params(spec.name) {
			t := &tensor{tensorSpec: ts, off: p.floats}
			p.floats += roundUp(ts.count())
			p.layers[i] = append(p.layers[i], t)
			p.all = append(p.all, t)
		}
		if l.kind == batchNorm {
			statFloats += roundUp(2 * l.k)
		}
	}
	for _, b := range []struct {
		dst     **vk.Buffer
		suffix  string
		floats  int
		trained bool // only for a network that is trained
	}{{&p.val, "", p.floats, false}, {&p.grad, " grad", p.floats, true}, {&p.m, " adam m", p.floats, true},
		{&p.v, " adam v", p.floats, true}, {&p.stats, " running stats", statFloats, false}} {
		if b.floats == 0 || b.trained && !optimizer {
			continue
		}
		buf, err := d.NewBuffer(spec.name+" parameters"+b.suffix, 4*b.floats)
		if err != nil {
			return fail(err)
		}
		p.bufs = append(p.bufs, buf)
		*b.dst = buf
	}
	view := func(whole *vk.Buffer, name string, off, floats int) *vk.Buffer {
		if whole == nil {
			return nil
		}
		v, err := whole.View(name, 4*off, 4*floats)
		if err != nil {
			panic(err) // the offsets above are aligned and inside: a bug if not
		}
		return v
	}
	for _, t := range p.all {
		t.val, t.grad = view(p.val, t.name, t.off, t.count()), view(p.grad, t.name+" grad", t.off, t.count())
		t.m, t.v = view(p.m, t.name+" adam m", t.off, t.count()), view(p.v, t.name+" adam v", t.off, t.count())
	}
	off := 0
	for i, l := range spec.layers {
		if l.kind == batchNorm {
			p.running[i] = view(p.stats, fmt.Sprintf("%s.%d running stats", spec.name, l.module), off, 2*l.k)
			off += roundUp(2 * l.k)
		}
	}
	// An elementwise kernel sees a buffer as floats through a texel view,
	// which holds at most MaxTexelBufferElements of them.
	piece := int(d.Info().MaxTexelBufferElements) / align * align
	for lo := 0; lo < p.floats; lo += piece {
		n := min(piece, p.floats-lo)
		if lo == 0 && n == p.floats {
			p.parts = append(p.parts, [4]*vk.Buffer{p.val, p.grad, p.m, p.v})
			break
		}
		name := fmt.Sprintf("%s parameters [%d, %d)", spec.name, lo, lo+n)
		p.parts = append(p.parts, [4]*vk.Buffer{view(p.val, name, lo, n), view(p.grad, name+" grad", lo, n),
			view(p.m, name+" adam m", lo, n), view(p.v, name+" adam v", lo, n)})
	}
	return p, nil
}

// roundUp is n floats rounded up to the next view offset.
func (p *netParams) roundUp(n int) int { return (n + p.align - 1) / p.align * p.align }

// Close frees the buffers and their views.
func (p *netParams) Close() {
	for i := len(p.bufs) - 1; i >= 0; i-- {
		p.bufs[i].Close()
	}
	p.bufs = nil
}

// init fills the parameters as DCGAN does, from r: weights N(0, 0.02),
// batch-norm γ N(1, 0.02), biases and β 0, running mean 0 and variance 1,
// Adam's moments 0. The padding between tensors is 0 in every buffer, so
// Adam leaves it 0.
func (p *netParams) init(r *rand.Rand) error {
	return p.fill(func(*tensor) float32 { return float32(0.02 * r.NormFloat64()) },
		func() float32 { return float32(1 + 0.02*r.NormFloat64()) })
}

// fill sets every weight element to weight(its tensor) and every batch-norm
// γ to gamma(), drawn in state_dict order; biases, β, the gradients and
// Adam's moments to 0, and the running statistics to PyTorch's initial
// ones.
func (p *netParams) fill(weight func(t *tensor) float32, gamma func() float32) error {
	val := make([]float32, p.floats)
	for i, l := range p.spec.layers {
		for j, t := range p.layers[i] {
			if j > 0 {
				continue // a bias or β
			}
			v := val[t.off : t.off+t.count()]
			for k := range v {
				if l.kind == batchNorm {
					v[k] = gamma()
				} else {
					v[k] = weight(t)
				}
			}
		}
	}
	if err := p.val.Upload(0, vk.Float32Bytes(val)); err != nil {
		return err
	}
	if p.m != nil {
		clear(val)
		for _, b := range []*vk.Buffer{p.grad, p.m, p.v} {
			if err := b.Upload(0, vk.Float32Bytes(val)); err != nil {
				return err
			}
		}
	}
	return p.resetRunning()
}

// resetRunning sets every batch norm's running statistics to PyTorch's
// initial ones: means 0, variances 1.
func (p *netParams) resetRunning() error {
	for i, l := range p.spec.layers {
		if rs := p.running[i]; rs != nil {
			v := make([]float32, 2*l.k) // means 0, variances 1
			for k := l.k; k < 2*l.k; k++ {
				v[k] = 1
			}
			if err := rs.Upload(0, vk.Float32Bytes(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFloats downloads a buffer's first n floats.
func readFloats(b *vk.Buffer, n int) ([]float32, error) {
	out := make([]float32, n)
	if err := b.Download(0, vk.Float32Bytes(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// finite reports whether every value is a number and not infinite.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
