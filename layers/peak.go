package layers

import (
	"fmt"
	"time"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Peak runs peak.comp: count invocations of 8 chains of iter fused
// multiply-adds each, which is 16·iter·count FLOPs.
type Peak struct {
	ks     parts
	k      *vk.Kernel
	out    *vk.Buffer
	count  int
	iter   int
	groups vk.Groups
}

// NewPeak builds the kernel and its output, one float per invocation.
func NewPeak(d *vk.Device, count, iter int) (*Peak, error) {
	p := &Peak{ks: parts{dev: d}, count: count, iter: iter, groups: flatGroups(count)}
	p.k = p.ks.add("peak", shaders.PeakSpecs{LocalX: local, Count: uint32(count), Iter: uint32(iter)})
	p.out = p.ks.buffer("peak sums", count)
	if p.ks.err != nil {
		p.Close()
		return nil, p.ks.err
	}
	return p, nil
}

// Close destroys the kernel and buffer.
func (p *Peak) Close() { p.ks.close() }

// Out is each invocation's sum of its chains.
func (p *Peak) Out() *vk.Buffer { return p.out }

// FLOPs is what one dispatch computes.
func (p *Peak) FLOPs() float64 { return 16 * float64(p.iter) * float64(p.count) }

// Record records one dispatch.
func (p *Peak) Record(s *vk.Sequence) {
	s.Dispatch(p.k, p.groups, nil, shaders.PeakBindings[*vk.Buffer]{Y: p.out}.List()...)
}

// PeakFLOPs measures the device's fp32 FMA rate with peak.comp, growing
// the dispatch until it takes at least 5 ms of device time, and takes the
// fastest of three runs. It needs timestamps.
func PeakFLOPs(d *vk.Device) (float64, error) {
	if !d.Info().Timestamps {
		return 0, fmt.Errorf("layers: %s cannot write timestamps", d.Info().Name)
	}
	const iter = 4096
	for count := 1 << 14; ; count *= 4 {
		p, err := NewPeak(d, count, iter)
		if err != nil {
			return 0, err
		}
		el, err := Time(d, "peak", p.Record, 3, 0)
		flops := p.FLOPs()
		p.Close()
		if err != nil {
			return 0, err
		}
		if el >= 5*time.Millisecond || count >= 1<<23 {
			return flops / el.Seconds(), nil
		}
	}
}

// Bandwidth measures the device's memory bandwidth with a copy of 64 MiB
// between two buffers (bytes read plus bytes written, per second), the
// fastest of three runs. It needs timestamps.
func Bandwidth(d *vk.Device) (float64, error) {
	if !d.Info().Timestamps {
		return 0, fmt.Errorf("layers: %s cannot write timestamps", d.Info().Name)
	}
	const size = 64 << 20
	ks := parts{dev: d}
	defer ks.close()
	a, b := ks.buffer("bandwidth from", size/4), ks.buffer("bandwidth to", size/4)
	if ks.err != nil {
		return 0, ks.err
	}
	el, err := Time(d, "bandwidth", func(s *vk.Sequence) { s.Copy(b, a) }, 3, 0)
	if err != nil {
		return 0, err
	}
	return 2 * size / el.Seconds(), nil
}

// Time records what record records into a sequence of its own, submits
// it once to warm up and then up to runs more times, and returns the
// fastest run: device time between timestamps around it, or host time
// (submit and wait) where the device cannot write timestamps. It stops
// after a run slower than stop (0: never), for timing clear losers once.
func Time(d *vk.Device, name string, record func(*vk.Sequence), runs int, stop time.Duration) (time.Duration, error) {
	s, err := d.NewSequence(name)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	stamps := d.Info().Timestamps
	if stamps {
		s.Timestamp("start")
	}
	record(s)
	if stamps {
		s.Timestamp("end")
	}
	if err := s.Submit(); err != nil {
		return 0, err
	}
	var best time.Duration
	for r := range runs {
		start := time.Now()
		if err := s.Submit(); err != nil {
			return 0, err
		}
		el := time.Since(start)
		if stamps {
			st, err := s.Timestamps()
			if err != nil {
				return 0, err
			}
			el = st[len(st)-1].At - st[0].At
		}
		if r == 0 || el < best {
			best = el
		}
		if stop > 0 && best > stop {
			break
		}
	}
	return best, nil
}
