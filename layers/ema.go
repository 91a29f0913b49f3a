package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// EMAConfig holds an exponential moving average's decay (in [0, 1)) and
// its ramp-up: at update t the decay is min(Decay, 0.5^(1/(Rampup·t))), so
// the average's half-life is at most Rampup·t updates (StyleGAN's ramp-up
// with its images counted in updates). Zero Rampup means 0.05.
type EMAConfig struct {
	Decay, Rampup float32
}

// EMA records the exponential moving average of Count parameters, in
// place: avg = β·avg + (1−β)·param, β from the config and the update count
// t, which it reads from the network's Clock (the caller ticks it once per
// optimizer step), so the recording stays valid from step to step.
type EMA struct {
	Count  int
	Config EMAConfig
	ks     parts
	k      *vk.Kernel
}

// NewEMA builds the average over count parameters.
func NewEMA(d *vk.Device, count int, cfg EMAConfig) (*EMA, error) {
	if cfg.Rampup == 0 {
		cfg.Rampup = 0.05
	}
	if count <= 0 || cfg.Decay < 0 || cfg.Decay >= 1 || cfg.Rampup < 0 {
		return nil, fmt.Errorf("layers: ema: count %d, decay %g, ramp-up %g: need count > 0, decay in [0, 1) and ramp-up > 0",
			count, cfg.Decay, cfg.Rampup)
	}
	e := &EMA{Count: count, Config: cfg, ks: parts{dev: d}}
	e.k = e.ks.add(fmt.Sprintf("ema %d", count), shaders.EmaSpecs{Elementwise: elementwiseLocal(), Count: uint32(count),
		Decay: cfg.Decay, Rampup: cfg.Rampup})
	if e.ks.err != nil {
		e.Close()
		return nil, e.ks.err
	}
	return e, nil
}

// Close destroys the kernel.
func (e *EMA) Close() { e.ks.close() }

// Update records one step of the average avg towards param.
func (e *EMA) Update(s *vk.Sequence, avg, param *vk.Buffer, clock *Clock) {
	need("ema", "avg", avg, e.Count)
	need("ema", "param", param, e.Count)
	s.Dispatch(e.k, elementwise(e.Count), nil, shaders.EmaBindings[*vk.Buffer]{Clock: clock.buf, Param: param, Avg: avg}.List()...)
}
