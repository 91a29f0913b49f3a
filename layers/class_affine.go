package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// ClassAffine records conditional batch norm's affine step (StudioGAN's
// and BigGAN's class-conditional batch norm): on an N×C×L tensor already
// normalised (BatchNorm2d without its own γ and β), each sample's channel
// c is scaled by gain[n, c] and shifted by bias[n, c], N×C each, which an
// Embedding of the samples' classes gives; an activation is fused after
// (shaders/class_affine.comp).
type ClassAffine struct {
	N, C, L  int
	Act      Activation
	ks       parts
	fwd, bwd *vk.Kernel
}

// NewClassAffine builds the affine step for n samples of c channels of l
// floats each.
func NewClassAffine(d *vk.Device, n, c, l int, act Activation) (*ClassAffine, error) {
	if n <= 0 || c <= 0 || l <= 0 {
		return nil, fmt.Errorf("layers: class affine: %d×%d×%d: need positive sizes", n, c, l)
	}
	if err := act.check(); err != nil {
		return nil, err
	}
	a := &ClassAffine{N: n, C: c, L: l, Act: act, ks: parts{dev: d}}
	name := fmt.Sprintf("class affine %d×%d×%d", n, c, l)
	specs := func(backward bool) shaders.ClassAffineSpecs {
		return shaders.ClassAffineSpecs{Reduce: reduceLocal(), Activation: act.spec(), N: uint32(n), C: uint32(c), L: uint32(l), Backward: backward}
	}
	a.fwd = a.ks.add(name, specs(false))
	a.bwd = a.ks.add(name+" backward", specs(true))
	if a.ks.err != nil {
		a.Close()
		return nil, a.ks.err
	}
	return a, nil
}

// Close destroys the kernels.
func (a *ClassAffine) Close() { a.ks.close() }

// Forward records y = act(x·gain[n, c] + bias[n, c]).
func (a *ClassAffine) Forward(s *vk.Sequence, y, x, gain, bias *vk.Buffer) {
	a.check(x, gain, bias, y)
	s.Dispatch(a.fwd, flatGroups(a.N*a.C*a.L), nil, shaders.ClassAffineBindings[*vk.Buffer]{
		X: x, Gain: gain, Bias: bias, Y: y, DY: y, DX: y, DGain: y, DBias: y}.List()...)
}

// Backward records, from dy and the forward's x and y, dx (which may be
// dy: in place) and each sample's dgain and dbias (N×C each,
// overwritten), which the embedding's backward sums by class.
func (a *ClassAffine) Backward(s *vk.Sequence, dx, dgain, dbias, dy, x, y, gain *vk.Buffer) {
	a.check(x, gain, dgain, y)
	need("class affine", "dy", dy, a.N*a.C*a.L)
	need("class affine", "dx", dx, a.N*a.C*a.L)
	need("class affine", "dbias", dbias, a.N*a.C)
	s.Dispatch(a.bwd, vk.Groups{X: uint32(a.N * a.C)}, nil, shaders.ClassAffineBindings[*vk.Buffer]{
		X: x, Gain: gain, Bias: gain, Y: y, DY: dy, DX: dx, DGain: dgain, DBias: dbias}.List()...)
}

func (a *ClassAffine) check(x, gain, bias, y *vk.Buffer) {
	need("class affine", "x", x, a.N*a.C*a.L)
	need("class affine", "y", y, a.N*a.C*a.L)
	need("class affine", "gain", gain, a.N*a.C)
	need("class affine", "bias", bias, a.N*a.C)
}
