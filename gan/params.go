package gan

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/gan-vk/gan-vk/vk"
)

// tensor is one trained parameter on the device with its gradient and
// Adam's two moments, each its own buffer of the same size.
type tensor struct {
	tensorSpec
	val, grad, m, v *vk.Buffer
}

// netParams is the state of one network that lives on the device: its
// parameters (with gradients and moments) and the running statistics of
// its batch-norm layers. The ops that use it (a net at some batch size)
// are built separately, so the trainer and the sampler share it.
type netParams struct {
	spec    netSpec
	layers  [][]*tensor  // per layer: weight, bias (γ, β), as layerSpec.params
	running []*vk.Buffer // per layer: BN running mean then variance (2C floats); nil elsewhere
	all     []*tensor    // every parameter in state_dict order
	bufs    []*vk.Buffer // everything above, for Close
}

// newNetParams allocates the state of spec's network; its contents start
// undefined (init or a checkpoint fills them).
func newNetParams(d *vk.Device, spec netSpec) (*netParams, error) {
	p := &netParams{spec: spec, layers: make([][]*tensor, len(spec.layers)), running: make([]*vk.Buffer, len(spec.layers))}
	alloc := func(name string, floats int) (*vk.Buffer, error) {
		b, err := d.NewBuffer(name, 4*floats)
		if err != nil {
			return nil, fmt.Errorf("gan: %s: %w", name, err)
		}
		p.bufs = append(p.bufs, b)
		return b, nil
	}
	for i, l := range spec.layers {
		for _, ts := range l.params(spec.name) {
			t := &tensor{tensorSpec: ts}
			for _, b := range []struct {
				dst    **vk.Buffer
				suffix string
			}{{&t.val, ""}, {&t.grad, " grad"}, {&t.m, " adam m"}, {&t.v, " adam v"}} {
				buf, err := alloc(ts.name+b.suffix, ts.count())
				if err != nil {
					p.Close()
					return nil, err
				}
				*b.dst = buf
			}
			p.layers[i] = append(p.layers[i], t)
			p.all = append(p.all, t)
		}
		if l.kind == batchNorm {
			buf, err := alloc(fmt.Sprintf("%s.%d running stats", spec.name, l.module), 2*l.k)
			if err != nil {
				p.Close()
				return nil, err
			}
			p.running[i] = buf
		}
	}
	return p, nil
}

// Close frees the buffers.
func (p *netParams) Close() {
	for i := len(p.bufs) - 1; i >= 0; i-- {
		p.bufs[i].Close()
	}
	p.bufs = nil
}

// init fills the parameters as DCGAN does, from r: weights N(0, 0.02),
// batch-norm γ N(1, 0.02), biases and β 0, running mean 0 and variance 1,
// Adam's moments 0.
func (p *netParams) init(r *rand.Rand) error {
	for i, l := range p.spec.layers {
		for j, t := range p.layers[i] {
			v := make([]float32, t.count())
			switch {
			case l.kind == batchNorm && j == 0:
				for k := range v {
					v[k] = float32(1 + 0.02*r.NormFloat64())
				}
			case j == 0:
				for k := range v {
					v[k] = float32(0.02 * r.NormFloat64())
				}
			}
			if err := t.val.Upload(0, vk.Float32Bytes(v)); err != nil {
				return err
			}
			zero := make([]float32, t.count())
			for _, b := range []*vk.Buffer{t.grad, t.m, t.v} {
				if err := b.Upload(0, vk.Float32Bytes(zero)); err != nil {
					return err
				}
			}
		}
		if rs := p.running[i]; rs != nil {
			v := make([]float32, 2*l.k)
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
