package gan

import (
	"fmt"
	"reflect"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
)

// TrainConfig is a training run's hyper-parameters: what fixes its
// arithmetic, step by step.
type TrainConfig struct {
	Model  ModelConfig `json:"model"`
	Batch  int         `json:"batch"`
	LR     float32     `json:"lr"`
	Beta1  float32     `json:"beta1"`
	GSteps int         `json:"g_steps"` // generator updates per step
	Seed   uint64      `json:"seed"`
	// DSteps is the discriminator updates per step (0 is 1), each on a
	// real batch of its own, before the GSteps generator updates.
	DSteps int `json:"d_steps,omitempty"`
	// EMA is the decay of the moving average of the generator's weights
	// (ema.go), ramped up at the start; 0 keeps none.
	EMA float32 `json:"ema,omitempty"`
	// Kernels is the tile of each GEMM pass of the step, which fixes the
	// order its sums run in; a pass it lacks gets the heuristic's. A new
	// run records every pass's (KernelPlan), so a resume builds the same
	// kernels whatever the tuning cache says by then.
	Kernels layers.Plan `json:"kernels,omitempty"`
	// Augment is the differentiable augmentation every batch passes
	// through before the discriminator, real and generated, in D's update
	// and G's (DiffAugment's transforms; augment.go); 0 is none. AugmentP
	// is the probability each transform applies to a sample; AugmentAuto
	// adapts it instead, as ADA does, starting from 0.
	Augment     layers.AugmentOps `json:"augment,omitempty"`
	AugmentP    float32           `json:"augment_p,omitempty"`
	AugmentAuto bool              `json:"augment_auto,omitempty"`
	// Mirror flips each real image left-right with probability ½.
	Mirror bool `json:"mirror,omitempty"`
	// Loss is the GAN loss: BCE (the zero value; the DCGAN paper's) or
	// hinge.
	Loss layers.LossKind `json:"loss,omitempty"`
	// LRD and LRG are the discriminator's and the generator's own learning
	// rates (two time scales, Heusel et al. 2017); 0 is LR.
	LRD float32 `json:"lr_d,omitempty"`
	LRG float32 `json:"lr_g,omitempty"`
}

// lr is network n's learning rate.
func (c TrainConfig) lr(n netID) float32 {
	if own := [nets]float32{gen: c.LRG, disc: c.LRD}[n]; own != 0 {
		return own
	}
	return c.LR
}

// Equal reports whether two configurations train the same bits (no
// kernels recorded and an empty record are the same).
func (c TrainConfig) Equal(o TrainConfig) bool {
	if len(c.Kernels) == 0 && len(o.Kernels) == 0 {
		c.Kernels, o.Kernels = nil, nil
	}
	return reflect.DeepEqual(c, o)
}

// maxBatch bounds the batch size before the device's own limits (checkBatch)
// are asked, so that sizes computed from it cannot overflow.
const maxBatch = 1 << 20

// Check reports a configuration no trainer can be built from.
func (c TrainConfig) Check() error {
	if err := c.Model.Check(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch %d must be at least 1", c.Batch)
	case c.Batch > maxBatch:
		return fmt.Errorf("batch %d must be at most %d", c.Batch, maxBatch)
	case c.LR <= 0:
		return fmt.Errorf("learning rate %g must be positive", c.LR)
	case c.LRD < 0 || c.LRG < 0:
		return fmt.Errorf("lr-d %g and lr-g %g must be positive (or 0: the shared learning rate)", c.LRD, c.LRG)
	case c.Beta1 < 0 || c.Beta1 >= 1:
		return fmt.Errorf("beta1 %g must be in [0, 1)", c.Beta1)
	case c.GSteps < 1:
		return fmt.Errorf("g-steps %d must be at least 1", c.GSteps)
	case c.DSteps < 0 || c.DSteps > maxUpdates || c.GSteps > maxUpdates:
		return fmt.Errorf("d-steps %d and g-steps %d must be in [1, %d]", c.DSteps, c.GSteps, maxUpdates)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("ema %g must be in [0, 1) (0 keeps no moving average)", c.EMA)
	case c.Loss != layers.BCE && c.Loss != layers.Hinge:
		return fmt.Errorf("loss %d is not one gan-vk has", int(c.Loss))
	}
	return c.checkAugment()
}

// maxUpdates bounds --d-steps and --g-steps: each update of a step is a
// recorded sequence of its own, and each D update holds a real batch.
const maxUpdates = 16

// Discriminator updates is DSteps, at least 1.
func (c TrainConfig) DUpdates() int { return max(1, c.DSteps) }

// Stats are what a step reports: the discriminator's loss on the real and
// the fake batch (D's loss is their sum), the generator's loss (of its last
// update), and the mean probability D gave the real batch, D(x), and the
// fakes, D(G(z)) (before D's update; the generator's step reports it after).
type Stats struct {
	DReal, DFake, G   float32
	DX, DGZ, DGZAfter float32
	// With augmentation: the probability each transform applied with in
	// the step, and ADA's overfitting heuristic r_t, the mean sign of the
	// discriminator's logits on the real batch.
	AugmentP, RT float32
}

// DLoss is the discriminator's loss, its term on the real batch plus its
// term on the fakes.
func (s Stats) DLoss() float32 { return s.DReal + s.DFake }

// Finite reports whether every loss and probability is a number and not
// infinite: a step that is not has diverged.
func (s Stats) Finite() bool { return nn.Finite([]float32{s.DReal, s.DFake, s.G, s.DX, s.DGZ}) }

// NotFinite names the first of the step's values that is NaN or infinite,
// and the update that computed it; "" where every one is finite.
func (s Stats) NotFinite() string {
	for _, v := range []struct {
		what string
		v    float32
	}{{"the D update's loss on the real batch", s.DReal}, {"the D update's loss on the fakes", s.DFake},
		{"D(x) in the D update", s.DX}, {"D(G(z)) in the D update", s.DGZ},
		{"the last G update's loss", s.G}, {"D(G(z)) in the last G update", s.DGZAfter}} {
		if !nn.Finite([]float32{v.v}) {
			return fmt.Sprintf("%s is %v", v.what, v.v)
		}
	}
	return ""
}

// ErrDiverged is returned when a loss or a parameter becomes NaN or
// infinite.
var ErrDiverged = nn.ErrDiverged
