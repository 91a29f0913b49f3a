package nn

import (
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Owner builds device objects for one user of a network (a trainer, a
// sampler, a calibration, …) and owns them, as a bufio.Writer holds its
// first error: each call after a failure does nothing and returns nil, so
// a constructor builds everything in a row and checks Err once. Close
// destroys what was built in reverse order.
type Owner struct {
	d     *vk.Device
	err   error
	owned []interface{ Close() }
}

// NewOwner starts an owner of objects on d.
func NewOwner(d *vk.Device) *Owner { return &Owner{d: d} }

// Device is the device the owner builds on.
func (o *Owner) Device() *vk.Device { return o.d }

// Err is the first failure, or nil.
func (o *Owner) Err() error { return o.err }

// Fail records err as the owner's failure unless it already has one.
func (o *Owner) Fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// Own makes the owner close c, after everything built after it.
func (o *Owner) Own(c interface{ Close() }) { o.owned = append(o.owned, c) }

// Keep owns what a constructor returned, or records its error and returns
// the zero T; after an earlier failure it closes v and returns the zero T,
// so nothing is used that was built after a failure:
//
//	adam, err := layers.NewAdam(d, n, cfg)
//	c.adam = nn.Keep(o, adam, err)
func Keep[T interface{ Close() }](o *Owner, v T, err error) T {
	var zero T
	if err != nil {
		o.Fail(err)
		return zero
	}
	if o.err != nil {
		v.Close()
		return zero
	}
	o.Own(v)
	return v
}

// Buffer is a device buffer of floats, or nil after a failure.
func (o *Owner) Buffer(name string, floats int) *vk.Buffer {
	if o.err != nil {
		return nil
	}
	b, err := o.d.NewBuffer(name, 4*floats)
	return Keep(o, b, err)
}

// Sequence is a new command sequence, or nil after a failure.
func (o *Owner) Sequence(name string) *vk.Sequence {
	if o.err != nil {
		return nil
	}
	s, err := o.d.NewSequence(name)
	return Keep(o, s, err)
}

// Clock is a new clock (layers.Clock) at seed, or nil after a failure.
func (o *Owner) Clock(name string, seed uint64) *layers.Clock {
	if o.err != nil {
		return nil
	}
	c, err := layers.NewClock(o.d, name, seed)
	return Keep(o, c, err)
}

// Close destroys everything owned, last built first. It may be called
// again.
func (o *Owner) Close() {
	for i := len(o.owned) - 1; i >= 0; i-- {
		o.owned[i].Close()
	}
	o.owned = nil
}
