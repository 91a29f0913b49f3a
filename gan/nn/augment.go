package nn

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Augment is differentiable augmentation in front of a network
// (DiffAugment; Zhao et al. 2020): the batch a pass feeds the network goes
// through it first, and a backward pass carries the gradient at the
// network's input back through it to the batch. Each mask (a pass of an
// update that draws its own, Mode.Mask) has its own Philox stream; the
// update's clock (Mode.Clock) draws it. The probability each transform
// applies to a sample lives on the device (SetP), so that an adaptive
// probability leaves recordings valid.
type Augment struct {
	Out *vk.Buffer // the augmented batch: the network's input
	p   *vk.Buffer
	ops []*layers.Augment // per mask
}

// AugmentOptions are an augmentation's transforms, and the masks and
// first row as Options has them.
type AugmentOptions struct {
	Ops          layers.AugmentOps
	Masks, First int
}

// NewAugment builds the augmentation of n c×h×w images, with probability
// 0 until SetP; nil after a failure (o.Err).
func NewAugment(o *Owner, name string, n, c, h, w int, opt AugmentOptions) *Augment {
	if o.Err() != nil {
		return nil
	}
	a := &Augment{Out: o.Buffer(name+" augmented", n*c*h*w), p: o.Buffer(name+" augmentation p", 1)}
	for mask := range opt.Masks {
		l, err := layers.NewAugment(o.Device(), layers.AugmentConfig{N: n, C: c, H: h, W: w, Ops: opt.Ops, Stream: mask, First: opt.First})
		if err != nil {
			err = fmt.Errorf("nn: building the %s's augmentation: %w", name, err)
		}
		a.ops = append(a.ops, Keep(o, l, err))
	}
	if o.Err() == nil {
		o.Fail(a.SetP(0))
	}
	if o.Err() != nil {
		return nil
	}
	return a
}

// SetP writes the probability each transform applies, which the
// recordings read when they next run.
func (a *Augment) SetP(p float32) error {
	if err := a.p.Upload(0, vk.Float32Bytes([]float32{p})); err != nil {
		return fmt.Errorf("nn: writing the augmentation's p: %w", err)
	}
	return nil
}

func (a *Augment) op(md Mode) *layers.Augment {
	if md.Mask < 0 || md.Mask >= len(a.ops) {
		panic(fmt.Sprintf("nn: the augmentation was built with %d masks; a pass asks for mask %d", len(a.ops), md.Mask))
	}
	return a.ops[md.Mask]
}

// Forward records Out = the augmented x, drawn for mode md's mask at its
// clock.
func (a *Augment) Forward(s *vk.Sequence, x *vk.Buffer, md Mode) {
	a.op(md).Forward(s, a.Out, x, md.Clock, a.p)
}

// Backward records dx = ∂L/∂x from dy = ∂L/∂Out, for the draw of the
// Forward at the same clock step and mask.
func (a *Augment) Backward(s *vk.Sequence, dx, dy *vk.Buffer, md Mode) {
	a.op(md).Backward(s, dx, dy, md.Clock, a.p)
}
