package layers

import (
	"fmt"
	"math"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// AdamConfig holds Adam's hyper-parameters; zero Beta2 and Eps mean
// PyTorch's defaults 0.999 and 1e-8. A positive Clamp keeps every
// parameter in [−Clamp, Clamp] after each update (gan's image completion
// keeps its z in range); zero leaves them free.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps float32
	Clamp                 float32
}

// Adam records torch.optim.Adam's update (with bias correction, no weight
// decay) over Count parameters, in place on the device. The step t is read
// from a Clock, which the caller ticks once per optimizer step before the
// updates, so the recording stays valid from step to step.
type Adam struct {
	Count  int
	Config AdamConfig
	ks     parts
	k      *vk.Kernel
}

// NewAdam builds the update for count parameters.
func NewAdam(d *vk.Device, count int, cfg AdamConfig) (*Adam, error) {
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if count <= 0 || cfg.LR <= 0 || cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 || cfg.Eps <= 0 || cfg.Clamp < 0 {
		return nil, fmt.Errorf("layers: adam: count %d, lr %g, β1 %g, β2 %g, ε %g, clamp %g: need count, lr, ε > 0, β in [0, 1) and clamp ≥ 0",
			count, cfg.LR, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.Clamp)
	}
	a := &Adam{Count: count, Config: cfg, ks: parts{dev: d}}
	a.k = a.ks.add(fmt.Sprintf("adam %d", count), shaders.AdamSpecs{Elementwise: elementwiseLocal(), Count: uint32(count),
		LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Epsilon: cfg.Eps,
		LogBeta1: float32(math.Log(float64(cfg.Beta1))), LogBeta2: float32(math.Log(float64(cfg.Beta2))), Clamp: cfg.Clamp})
	if a.ks.err != nil {
		a.Close()
		return nil, a.ks.err
	}
	return a, nil
}

// Close destroys the kernel.
func (a *Adam) Close() { a.ks.close() }

// Update records one step on param from grad, with the moments m and v
// (start them at zero) updated in place.
func (a *Adam) Update(s *vk.Sequence, param, grad, m, v *vk.Buffer, clock *Clock) {
	for _, b := range []struct {
		name string
		b    *vk.Buffer
	}{{"param", param}, {"grad", grad}, {"m", m}, {"v", v}} {
		need("adam", b.name, b.b, a.Count)
	}
	s.Dispatch(a.k, elementwise(a.Count), nil,
		shaders.AdamBindings[*vk.Buffer]{Clock: clock.buf, Param: param, Grad: grad, M: m, V: v}.List()...)
}
