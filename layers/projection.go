package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Projection records a projection discriminator's class term (Miyato and
// Koyama 2018, as StudioGAN adds it to DCGAN): each sample's logit gains
// ⟨e[n], h[n]⟩, its features h (the K floats D's last dense layer reads)
// against its class's embedding e (K floats, from an Embedding of its
// label) (shaders/projection.comp).
type Projection struct {
	N, K     int
	ks       parts
	fwd, bwd *vk.Kernel
}

// NewProjection builds the class term for n samples of k features.
func NewProjection(d *vk.Device, n, k int) (*Projection, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("layers: projection: %d samples of %d features: need positive sizes", n, k)
	}
	p := &Projection{N: n, K: k, ks: parts{dev: d}}
	name := fmt.Sprintf("projection %d×%d", n, k)
	specs := func(backward bool) shaders.ProjectionSpecs {
		return shaders.ProjectionSpecs{Reduce: reduceLocal(), N: uint32(n), K: uint32(k), Backward: backward}
	}
	p.fwd = p.ks.add(name, specs(false))
	p.bwd = p.ks.add(name+" backward", specs(true))
	if p.ks.err != nil {
		p.Close()
		return nil, p.ks.err
	}
	return p, nil
}

// Close destroys the kernels.
func (p *Projection) Close() { p.ks.close() }

// Forward records logit[n] += ⟨e[n], h[n]⟩, onto the logits D's last
// layer wrote.
func (p *Projection) Forward(s *vk.Sequence, logit, h, e *vk.Buffer) {
	p.check(h, e, logit)
	s.Dispatch(p.fwd, vk.Groups{X: uint32(p.N)}, nil, shaders.ProjectionBindings[*vk.Buffer]{H: h, E: e, Logit: logit, DH: logit, DE: logit}.List()...)
}

// Backward records, from dl = ∂L/∂logit, dh[n] += dl[n]·e[n] (onto the
// gradient D's last layer left at its input) and de[n] = dl[n]·h[n]
// (overwritten; the embedding's backward sums it by class).
func (p *Projection) Backward(s *vk.Sequence, dh, de, dl, h, e *vk.Buffer) {
	p.check(h, e, dl)
	need("projection", "dh", dh, p.N*p.K)
	need("projection", "de", de, p.N*p.K)
	s.Dispatch(p.bwd, flatGroups(p.N*p.K), nil, shaders.ProjectionBindings[*vk.Buffer]{H: h, E: e, Logit: dl, DH: dh, DE: de}.List()...)
}

func (p *Projection) check(h, e, logit *vk.Buffer) {
	need("projection", "h", h, p.N*p.K)
	need("projection", "e", e, p.N*p.K)
	need("projection", "logit", logit, p.N)
}
