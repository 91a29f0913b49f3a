package layers

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Clock is a 16-byte device buffer holding a seed and a step counter: the
// state that random draws (Normal, Dropout) and Adam's bias correction read
// on the device, so that a recorded command buffer stays valid from step to
// step. Tick advances it inside a recording.
type Clock struct {
	buf  *vk.Buffer
	ks   parts
	tick *vk.Kernel
}

// NewClock makes a clock at seed and step 0.
func NewClock(d *vk.Device, name string, seed uint64) (*Clock, error) {
	c := &Clock{ks: parts{dev: d}}
	c.tick = c.ks.add(name, shaders.TickSpecs{})
	c.buf = c.ks.buffer(name+" clock", 4) // four 32-bit words
	err := c.ks.err
	if err == nil {
		err = c.Set(seed, 0)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close destroys the buffer and kernel.
func (c *Clock) Close() { c.ks.close() }

// Buffer is the clock's device buffer, for the ops that read it.
func (c *Clock) Buffer() *vk.Buffer { return c.buf }

// Set writes seed and step (resuming a run sets the step it stopped at).
func (c *Clock) Set(seed uint64, step uint32) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], seed)
	binary.LittleEndian.PutUint32(b[8:], step)
	return c.buf.Upload(0, b[:])
}

// Read returns the seed and step on the device.
func (c *Clock) Read() (seed uint64, step uint32, err error) {
	var b [16]byte
	if err := c.buf.Download(0, b[:]); err != nil {
		return 0, 0, err
	}
	return binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint32(b[8:]), nil
}

// Tick records step += 1.
func (c *Clock) Tick(s *vk.Sequence) {
	s.Dispatch(c.tick, vk.Groups{X: 1}, nil, shaders.TickBindings[*vk.Buffer]{Clock: c.buf}.List()...)
}

// Normal records z ~ N(0, 1) over Count floats, drawn from Philox4x32-10 at
// the clock's seed and step: the same (seed, step, stream) gives the same z.
// Distinct streams give independent draws at the same step. A Normal from
// First draws elements [First, First+Count) of the whole draw, bit for bit:
// a rank's rows of a data-parallel batch.
type Normal struct {
	First, Count, Stream int
	ks                   parts
	k                    *vk.Kernel
}

// NewNormal builds the generator for count floats on a stream.
func NewNormal(d *vk.Device, count, stream int) (*Normal, error) {
	return NewNormalFrom(d, 0, count, stream)
}

// NewNormalFrom builds the generator for elements [first, first+count) of
// a stream's draw; first must be a multiple of 4 (Philox draws 4 at once).
func NewNormalFrom(d *vk.Device, first, count, stream int) (*Normal, error) {
	if err := checkDraw("normal", first, count, stream); err != nil {
		return nil, err
	}
	l := &Normal{First: first, Count: count, Stream: stream, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("normal %d", count), shaders.NormalSpecs{Elementwise: elementwiseLocal(),
		Count: uint32(count), Stream: uint32(stream), First: uint32(first)})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// checkDraw reports a random draw's range that cannot be drawn.
func checkDraw(op string, first, count, stream int) error {
	switch {
	case count <= 0 || stream < 0:
		return fmt.Errorf("layers: %s: count %d must be positive and stream %d not negative", op, count, stream)
	case first < 0 || first%4 != 0 || first+count > math.MaxUint32:
		return fmt.Errorf("layers: %s: the first element %d must be a multiple of 4, and the draw end below 2³²", op, first)
	}
	return nil
}

// Close destroys the kernel.
func (l *Normal) Close() { l.ks.close() }

// Draw records z ← N(0, 1) draws.
func (l *Normal) Draw(s *vk.Sequence, z *vk.Buffer, clock *Clock) {
	need("normal", "z", z, l.Count)
	s.Dispatch(l.k, elementwise(l.Count), nil, shaders.NormalBindings[*vk.Buffer]{Clock: clock.buf, Z: z}.List()...)
}

// Dropout records inverted dropout over Count floats: each value is kept
// with probability 1−P and scaled by 1/(1−P). The mask comes from Philox at
// the clock's seed and step, so Backward redraws it instead of storing it.
// A Dropout from First masks with elements [First, First+Count) of the
// whole mask.
type Dropout struct {
	First, Count int
	P            float32
	Stream       int
	ks           parts
	k            *vk.Kernel
}

// NewDropout builds dropout with drop probability p in [0, 1) on a stream.
func NewDropout(d *vk.Device, count int, p float32, stream int) (*Dropout, error) {
	return NewDropoutFrom(d, 0, count, p, stream)
}

// NewDropoutFrom builds dropout over elements [first, first+count) of a
// stream's mask; first must be a multiple of 4.
func NewDropoutFrom(d *vk.Device, first, count int, p float32, stream int) (*Dropout, error) {
	if err := checkDraw("dropout", first, count, stream); err != nil {
		return nil, err
	}
	if p < 0 || p >= 1 {
		return nil, fmt.Errorf("layers: dropout: p %g must be in [0, 1)", p)
	}
	l := &Dropout{First: first, Count: count, P: p, Stream: stream, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("dropout %d", count), shaders.DropoutSpecs{Elementwise: elementwiseLocal(),
		Count: uint32(count), P: p, Stream: uint32(stream), First: uint32(first)})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernel.
func (l *Dropout) Close() { l.ks.close() }

// Forward records y = dropout(x); y may be x.
func (l *Dropout) Forward(s *vk.Sequence, y, x *vk.Buffer, clock *Clock) {
	need("dropout", "x", x, l.Count)
	need("dropout", "y", y, l.Count)
	s.Dispatch(l.k, elementwise(l.Count), nil, shaders.DropoutBindings[*vk.Buffer]{Clock: clock.buf, X: x, Y: y}.List()...)
}

// Backward records dx = dy masked and scaled as Forward was at the same
// clock; dx may be dy.
func (l *Dropout) Backward(s *vk.Sequence, dx, dy *vk.Buffer, clock *Clock) {
	l.Forward(s, dx, dy, clock)
}
