package gan

import (
	"github.com/gan-vk/gan-vk/gan/nn"
)

// Tensor is one tensor of a trainer's state under its PyTorch state_dict
// name (nn.Tensor).
type Tensor = nn.Tensor

// A TensorSource gives the values of a saved tensor by name (nn.TensorSource).
type TensorSource = nn.TensorSource

// State reads the trainer's whole state from the device: both networks'
// parameters, batch norm's running statistics with the count of batches
// they tracked, Adam's moments, and the EMA generator's parameters with the
// running statistics calibrated for them. A value that is NaN or infinite
// is ErrDiverged: no checkpoint keeps one.
func (t *Trainer) State() ([]Tensor, error) {
	if err := t.calibrateEMA(); err != nil {
		return nil, err
	}
	var out []Tensor
	bnForwards := t.Config.counts().bnForwards
	for _, n := range []struct {
		p         *nn.Store
		optimizer bool
		batches   int // batch norm's num_batches_tracked
	}{{t.g, true, t.step * bnForwards[gen]}, {t.d, true, t.step * bnForwards[disc]}, {t.ema, false, calibPasses}} {
		if n.p == nil {
			continue
		}
		st, err := n.p.Read(n.optimizer)
		if err != nil {
			return nil, err
		}
		out = append(append(out, st...), n.p.Counters(n.batches)...)
	}
	return append(out, t.augmentState()...), nil
}

// Restore replaces the trainer's state with src's (every tensor State
// lists but the counters, which follow from the step) and moves it to
// step. The caller checks that src was written for this configuration.
func (t *Trainer) Restore(step int, src TensorSource) error {
	for _, p := range []*nn.Store{t.g, t.d} {
		if err := p.Load(src, true); err != nil {
			return err
		}
	}
	if t.ema != nil {
		if err := t.ema.Load(src, false); err != nil {
			return err
		}
		t.emaCalibrated = true // as they were saved
	}
	if err := t.restoreAugment(src); err != nil {
		return err
	}
	if err := t.weightsChanged(); err != nil {
		return err
	}
	return t.setStep(step)
}
