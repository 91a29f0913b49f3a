package nn

import (
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Latent is a network's z on the device: N rows of Size floats, drawn
// N(0, 1) by Philox on a stream of its own from a clock, so that the same
// (seed, draw) gives the same z on any device. A seeded latent has a clock
// of its own (Set, Draw); a trainer's is drawn by each update's clock
// (DrawWith).
type Latent struct {
	N, Size int
	Z       *vk.Buffer
	normal  *layers.Normal
	clock   *layers.Clock // nil for a trainer's
}

// NewLatent builds z of n rows of size floats on stream, drawn from a
// clock of its own at seed, draw 0; nil after a failure (o.Err).
func NewLatent(o *Owner, name string, n, size, stream int, seed uint64) *Latent {
	l := NewLatentRows(o, name, n, size, 0, stream)
	if l != nil {
		l.clock = o.Clock(name, seed)
	}
	if o.Err() != nil {
		return nil
	}
	return l
}

// NewLatentRows builds rows [first, first+n) of a draw of z (a
// data-parallel rank's rows of the global batch's), drawn from the clock
// DrawWith is given.
func NewLatentRows(o *Owner, name string, n, size, first, stream int) *Latent {
	if o.Err() != nil {
		return nil
	}
	l := &Latent{N: n, Size: size, Z: o.Buffer(name, n*size)}
	normal, err := layers.NewNormalFrom(o.Device(), first*size, n*size, stream)
	l.normal = Keep(o, normal, err)
	if o.Err() != nil {
		return nil
	}
	return l
}

// Set moves a seeded latent's clock to (seed, draw), which the next
// recorded Draw submitted draws.
func (l *Latent) Set(seed uint64, draw uint32) error { return l.clock.Set(seed, draw) }

// Draw records drawing z from the latent's own clock.
func (l *Latent) Draw(s *vk.Sequence) { l.normal.Draw(s, l.Z, l.clock) }

// DrawWith records drawing z from clock.
func (l *Latent) DrawWith(s *vk.Sequence, clock *layers.Clock) { l.normal.Draw(s, l.Z, clock) }

// Values reads z: N rows of Size floats.
func (l *Latent) Values() ([]float32, error) { return ReadFloats(l.Z, l.N*l.Size) }
