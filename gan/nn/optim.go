package nn

import (
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Adam is Adam over a store: one dispatch per piece of it (Store.Parts),
// updating every parameter from its gradient.
type Adam struct {
	p   *Store
	ops []*layers.Adam
}

// NewAdam builds Adam over p in o; nil after a failure (o.Err).
func NewAdam(o *Owner, p *Store, cfg layers.AdamConfig) *Adam {
	if o.Err() != nil {
		return nil
	}
	a := &Adam{p: p}
	for _, part := range p.Parts {
		op, err := layers.NewAdam(o.Device(), part[0].Size()/4, cfg)
		a.ops = append(a.ops, Keep(o, op, err))
	}
	if o.Err() != nil {
		return nil
	}
	return a
}

// Update records one Adam step of every parameter, at the clock's step,
// from the gradients the passes accumulated (through spectral norm first,
// Store.ParamGrads).
func (a *Adam) Update(s *vk.Sequence, clock *layers.Clock) {
	a.p.ParamGrads(s)
	for i, part := range a.p.Parts {
		a.ops[i].Update(s, part[0], part[1], part[2], part[3], clock)
	}
}

// EMA is the exponential moving average of a store's values kept in
// another store of the same network (the EMA generator): one dispatch per
// piece.
type EMA struct {
	avg, src *Store
	ops      []*layers.EMA
}

// NewEMA builds the average of src's values in avg, in o; nil after a
// failure (o.Err).
func NewEMA(o *Owner, avg, src *Store, cfg layers.EMAConfig) *EMA {
	if o.Err() != nil {
		return nil
	}
	e := &EMA{avg: avg, src: src}
	for _, part := range avg.Parts {
		op, err := layers.NewEMA(o.Device(), part[0].Size()/4, cfg)
		e.ops = append(e.ops, Keep(o, op, err))
	}
	if o.Err() != nil {
		return nil
	}
	return e
}

// Update records moving the average towards src's values, at the clock's
// step.
func (e *EMA) Update(s *vk.Sequence, clock *layers.Clock) {
	for i, part := range e.avg.Parts {
		e.ops[i].Update(s, part[0], e.src.Parts[i][0], clock)
	}
}
