package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
)

// Augmentation for small data sets (Zhao et al. 2020, "Differentiable
// Augmentation for Data-Efficient GAN Training"; Karras et al. 2020,
// "Training Generative Adversarial Networks with Limited Data"): every
// batch the discriminator sees, real or generated, in its update and in
// the generator's, passes through the same random transforms first, and
// the generator's gradient comes back through them (step.go). The
// discriminator cannot memorise a few hundred images it never sees the
// same way twice, and because the transforms apply to the fakes too, the
// generator is not taught to make augmented images.
//
// With a fixed p every transform applies to a sample with probability p.
// With --augment-p auto, p starts at 0 and follows ADA's heuristic: every
// adaInterval steps the mean over those steps of r_t = E[sign(D(x))] on
// the real batches is compared with adaTarget, and p moves up (D is
// overfitting) or down by a step sized so that it can go from 0 to 1 in
// adaImages images. p and the sum of r_t so far in the interval are
// training state: checkpoints hold them and a resume continues them.

const (
	adaTarget   = 0.6    // r_t above this: the discriminator is overfitting
	adaInterval = 4      // steps between adjustments
	adaImages   = 500000 // images for p to go from 0 to 1
)

// buildAugment builds the augmentation and the mirror the configuration
// asks for, the rows from first on of the global batch.
func (t *Trainer) buildAugment(first int) {
	cfg, o, m := t.Config, t.own, t.Config.Model
	if cfg.Augment != 0 {
		t.aug = nn.NewAugment(o, "discriminator", t.n, m.Channels, m.Size(), m.Size(),
			nn.AugmentOptions{Ops: cfg.Augment, Masks: masks, First: first})
		t.dAug = o.Buffer("∂loss/∂augmented image", t.n*m.imageFloats())
		if !cfg.AugmentAuto {
			t.ada.p = cfg.AugmentP
		}
		if t.aug != nil {
			o.Fail(t.aug.SetP(t.ada.p))
		}
	}
	if cfg.Mirror {
		mirror, err := layers.NewMirror(t.dev, t.n, m.Channels, m.Size(), m.Size(), 0, first)
		t.mirror = nn.Keep(o, mirror, err)
	}
}

// checkAugment reports an augmentation no trainer can run.
func (c TrainConfig) checkAugment() error {
	switch {
	case c.Augment&^(layers.Color|layers.Translation|layers.Cutout) != 0:
		return fmt.Errorf("augmentation %#x names transforms gan-vk does not have", uint32(c.Augment))
	case !(c.AugmentP >= 0 && c.AugmentP <= 1):
		return fmt.Errorf("augment-p %g must be in [0, 1]", c.AugmentP)
	case c.AugmentAuto && c.Augment == 0:
		return fmt.Errorf("an adaptive augmentation p needs transforms to apply")
	}
	return nil
}

// adaptive is the augmentation probability a trainer runs with, and
// ADA's accumulator when it adapts.
type adaptive struct {
	p     float32 // each transform's probability in the next step
	rtSum float32 // r_t summed over the interval's steps so far
}

// observe takes a finished step's r_t (the step count after it) and moves
// p when an interval ends; it reports whether p changed.
func (a *adaptive) observe(step int, rt float32, batch int) bool {
	a.rtSum += rt
	if step%adaInterval != 0 {
		return false
	}
	adjust := float32(batch*adaInterval) / adaImages
	old := a.p
	switch mean := a.rtSum / adaInterval; {
	case mean > adaTarget:
		a.p = min(a.p+adjust, 1)
	case mean < adaTarget:
		a.p = max(a.p-adjust, 0)
	}
	a.rtSum = 0
	return a.p != old
}

// The checkpoint's names for an adaptive augmentation's state.
const (
	tensorAugmentP  = "augment.p"
	tensorAugmentRT = "augment.rt_sum"
)

// augmentState is the adaptive augmentation's state as checkpoint tensors.
func (t *Trainer) augmentState() []Tensor {
	if !t.Config.AugmentAuto {
		return nil
	}
	return []Tensor{{Name: tensorAugmentP, Shape: []int{1}, F32: []float32{t.ada.p}},
		{Name: tensorAugmentRT, Shape: []int{1}, F32: []float32{t.ada.rtSum}}}
}

// restoreAugment reads an adaptive augmentation's state from src.
func (t *Trainer) restoreAugment(src TensorSource) error {
	if !t.Config.AugmentAuto {
		return nil
	}
	p, err := src.Floats(tensorAugmentP, []int{1})
	if err != nil {
		return err
	}
	rt, err := src.Floats(tensorAugmentRT, []int{1})
	if err != nil {
		return err
	}
	if !(p[0] >= 0 && p[0] <= 1) {
		return fmt.Errorf("the augmentation's p %g is not a probability", p[0])
	}
	t.ada = adaptive{p: p[0], rtSum: rt[0]}
	return t.aug.SetP(t.ada.p)
}

// adapt moves an adaptive p after a step.
func (t *Trainer) adapt(rt float32) error {
	if !t.Config.AugmentAuto || !t.ada.observe(t.step, rt, t.Config.Batch) {
		return nil
	}
	return t.aug.SetP(t.ada.p)
}
