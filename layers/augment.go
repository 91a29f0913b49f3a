package layers

import (
	"fmt"
	"math"
	"strings"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// AugmentOps are the transforms of DiffAugment (Zhao et al. 2020) an
// Augment applies, a bit each, as shaders/include/augment.glsl numbers
// them.
type AugmentOps uint32

const (
	Brightness  AugmentOps = 1 << iota // x + U(−0.5, 0.5)
	Saturation                         // each pixel's deviation from its channel mean scaled by U(0, 2)
	Contrast                           // the deviation from the image's mean scaled by U(0.5, 1.5)
	Translation                        // an integer shift of up to 1/8 of each side, zero-filled
	Cutout                             // a zeroed square of half the side

	Color = Brightness | Saturation | Contrast // DiffAugment's "color"
)

// augmentPolicies are the names --augment takes, in DiffAugment's order.
var augmentPolicies = []struct {
	name string
	ops  AugmentOps
}{{"color", Color}, {"translation", Translation}, {"cutout", Cutout}}

// ParseAugmentOps reads a policy as DiffAugment writes it: names joined by
// commas ("color,translation,cutout").
func ParseAugmentOps(policy string) (AugmentOps, error) {
	var ops AugmentOps
	for _, name := range strings.Split(policy, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, p := range augmentPolicies {
			if p.name == name {
				ops, found = ops|p.ops, true
			}
		}
		if !found {
			return 0, fmt.Errorf("%q is not a transform: use color, translation or cutout, joined by commas", name)
		}
	}
	return ops, nil
}

// String is the policy in ParseAugmentOps' form; a set of ops that splits
// "color" names its parts.
func (o AugmentOps) String() string {
	var names []string
	for _, p := range augmentPolicies {
		if o&p.ops == p.ops {
			names = append(names, p.name)
			o &^= p.ops
		}
	}
	for i, name := range []string{"brightness", "saturation", "contrast"} {
		if o&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// AugmentConfig is an augmentation of N C×H×W images.
type AugmentConfig struct {
	N, C, H, W int
	Ops        AugmentOps
	// Stream is the Philox stream the draws come from: one per batch
	// augmented at the same clock step. First is the row of a global batch
	// that row 0 is: a data-parallel rank draws its rows of the global
	// batch's augmentation.
	Stream, First int
}

// Augment records DiffAugment's transforms (shaders/include/augment.glsl)
// on a batch of images, each sample drawing which transforms apply (each
// with probability p, read from a one-float buffer on the device, so that
// an adaptive p leaves recordings valid) and how strongly, from Philox at
// the clock's seed and step: Backward draws the same, so nothing is stored
// between the passes but the draw itself. Both passes are linear maps of
// their input (plus brightness in forward), so Backward is exact.
type Augment struct {
	AugmentConfig
	ks                       parts
	draw, drawBack, fwd, bwd *vk.Kernel
	record                   *vk.Buffer // each sample's draw and mean
}

// NewAugment builds the augmentation.
func NewAugment(d *vk.Device, cfg AugmentConfig) (*Augment, error) {
	switch {
	case cfg.N <= 0 || cfg.Stream < 0 || cfg.First < 0 || cfg.First+cfg.N > math.MaxUint32:
		return nil, fmt.Errorf("layers: augment: batch %d from row %d on stream %d: need a positive batch below 2³² rows and a stream not negative", cfg.N, cfg.First, cfg.Stream)
	case cfg.C <= 0 || cfg.H <= 0 || cfg.W <= 0:
		return nil, fmt.Errorf("layers: augment: images %d×%d×%d must have positive sizes", cfg.C, cfg.H, cfg.W)
	case cfg.N > 65535:
		return nil, fmt.Errorf("layers: augment: batch %d is over 65535 (one workgroup per sample)", cfg.N)
	case cfg.Ops&^(Color|Translation|Cutout) != 0:
		return nil, fmt.Errorf("layers: augment: unknown transforms %#x", uint32(cfg.Ops))
	}
	l := &Augment{AugmentConfig: cfg, ks: parts{dev: d}}
	geom := shaders.Augment{N: uint32(cfg.N), C: uint32(cfg.C), H: uint32(cfg.H), W: uint32(cfg.W)}
	draw := shaders.AugmentDrawSpecs{Reduce: reduceLocal(), Augment: geom, Stream: uint32(cfg.Stream), First: uint32(cfg.First), Ops: uint32(cfg.Ops), Backward: false}
	name := fmt.Sprintf("augment %s %d×%d×%d×%d", cfg.Ops, cfg.N, cfg.C, cfg.H, cfg.W)
	l.draw = l.ks.add(name+" draw", draw)
	draw.Backward = true
	l.drawBack = l.ks.add(name+" draw backward", draw)
	l.fwd = l.ks.add(name, shaders.AugmentFwdSpecs{Augment: geom, LocalX: local})
	l.bwd = l.ks.add(name+" backward", shaders.AugmentBwdSpecs{Augment: geom, LocalX: local})
	l.record = l.ks.buffer(name+" draws", 8*cfg.N)
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernels and the draws' buffer.
func (l *Augment) Close() { l.ks.close() }

func (l *Augment) floats() int { return l.N * l.C * l.H * l.W }

// Forward records y = augment(x) with the clock's draw; y must not be x.
// p holds the probability each transform applies to a sample.
func (l *Augment) Forward(s *vk.Sequence, y, x *vk.Buffer, clock *Clock, p *vk.Buffer) {
	l.drawFor(s, l.draw, y, x, clock, p)
	s.Dispatch(l.fwd, flatGroups(l.N*l.H*l.W), nil,
		shaders.AugmentFwdBindings[*vk.Buffer]{Record: l.record, X: x, Y: y}.List()...)
}

// Backward records dx = ∂L/∂x from dy = ∂L/∂y, for the draw Forward made
// at the same clock step; dx must not be dy.
func (l *Augment) Backward(s *vk.Sequence, dx, dy *vk.Buffer, clock *Clock, p *vk.Buffer) {
	l.drawFor(s, l.drawBack, dx, dy, clock, p)
	s.Dispatch(l.bwd, flatGroups(l.N*l.H*l.W), nil,
		shaders.AugmentBwdBindings[*vk.Buffer]{Record: l.record, DY: dy, DX: dx}.List()...)
}

// drawFor records the draw (and the mean) a pass from in to out reads.
func (l *Augment) drawFor(s *vk.Sequence, draw *vk.Kernel, out, in *vk.Buffer, clock *Clock, p *vk.Buffer) {
	need("augment", "input", in, l.floats())
	need("augment", "output", out, l.floats())
	need("augment", "p", p, 1)
	if out == in {
		panic("layers: augment: the output buffer is the input's; it must be another")
	}
	s.Dispatch(draw, vk.Groups{X: uint32(l.N)}, nil,
		shaders.AugmentDrawBindings[*vk.Buffer]{Clock: clock.buf, Strength: p, X: in, Record: l.record}.List()...)
}

// Mirror records, in place, a left-right flip of each of N C×H×W images
// with probability ½, drawn per sample from Philox at the clock's seed and
// step on a stream (StyleGAN's --mirror, drawn anew each step). First is
// the row of a global batch that row 0 is.
type Mirror struct {
	N, C, H, W    int
	Stream, First int
	ks            parts
	k             *vk.Kernel
}

// NewMirror builds the flip of n c×h×w images.
func NewMirror(d *vk.Device, n, c, h, w, stream, first int) (*Mirror, error) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || stream < 0 || first < 0 || first+n > math.MaxUint32 {
		return nil, fmt.Errorf("layers: mirror: %d×%d×%d×%d images from row %d on stream %d: need positive sizes, rows below 2³² and a stream not negative", n, c, h, w, first, stream)
	}
	l := &Mirror{N: n, C: c, H: h, W: w, Stream: stream, First: first, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("mirror %d×%d×%d×%d", n, c, h, w), shaders.MirrorSpecs{LocalX: local,
		Augment: shaders.Augment{N: uint32(n), C: uint32(c), H: uint32(h), W: uint32(w)}, Stream: uint32(stream), First: uint32(first)})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernel.
func (l *Mirror) Close() { l.ks.close() }

// Forward records the flips of x, in place.
func (l *Mirror) Forward(s *vk.Sequence, x *vk.Buffer, clock *Clock) {
	need("mirror", "x", x, l.N*l.C*l.H*l.W)
	s.Dispatch(l.k, flatGroups(l.N*l.C*l.H*(l.W/2)), nil, shaders.MirrorBindings[*vk.Buffer]{Clock: clock.buf, X: x}.List()...)
}

// MarshalText writes the policy as ParseAugmentOps reads it (config.json).
func (o AugmentOps) MarshalText() ([]byte, error) {
	if o&^(Color|Translation|Cutout) != 0 {
		return nil, fmt.Errorf("layers: unknown augmentation transforms %#x", uint32(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText reads a policy ParseAugmentOps' way; "" is none.
func (o *AugmentOps) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*o = 0
		return nil
	}
	ops, err := ParseAugmentOps(string(b))
	*o = ops
	return err
}
