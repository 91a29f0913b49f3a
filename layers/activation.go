package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Activate records an activation on its own, over Count values, for where
// it cannot be fused into the op before it.
type Activate struct {
	Count    int
	Act      Activation
	ks       parts
	fwd, bwd *vk.Kernel
}

// NewActivate builds the kernels of an activation over count values.
func NewActivate(d *vk.Device, count int, a Activation) (*Activate, error) {
	if count <= 0 {
		return nil, fmt.Errorf("layers: activation: count %d must be positive", count)
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	l := &Activate{Count: count, Act: a, ks: parts{dev: d}}
	name := fmt.Sprintf("%v %d", a.Act, count)
	l.fwd = l.ks.add(name, shaders.ActFwdSpecs{Elementwise: elementwiseLocal(), Activation: a.spec(), Count: uint32(count)})
	l.bwd = actBwd(&l.ks, name, count, a)
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernels.
func (l *Activate) Close() { l.ks.close() }

// Forward records y = act(x); y may be x.
func (l *Activate) Forward(s *vk.Sequence, y, x *vk.Buffer) {
	need("activation forward", "x", x, l.Count)
	need("activation forward", "y", y, l.Count)
	s.Dispatch(l.fwd, elementwise(l.Count), nil, shaders.ActFwdBindings[*vk.Buffer]{X: x, Y: y}.List()...)
}

// Backward records dx = dy·act'(x) from the forward output y; dx may be dy.
func (l *Activate) Backward(s *vk.Sequence, dx, dy, y *vk.Buffer) {
	need("activation backward", "y", y, l.Count)
	need("activation backward", "dy", dy, l.Count)
	need("activation backward", "dx", dx, l.Count)
	s.Dispatch(l.bwd, elementwise(l.Count), nil, shaders.ActBwdBindings[*vk.Buffer]{Yb: y, DY: dy, DX: dx}.List()...)
}
