package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/vk"
)

// Tensor is one tensor of a trainer's state under its PyTorch state_dict
// name (generator.0.weight, …, batch norm's running_mean, running_var and
// num_batches_tracked; Adam's moments as optimizer.<name>.exp_avg and
// .exp_avg_sq): F32 values, or I64 for a counter.
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I64   []int64
}

// A TensorSource gives the values of a saved tensor by name, checked
// against the shape this model gives it: a checkpoint.
type TensorSource interface {
	Floats(name string, shape []int) ([]float32, error)
}

// stateTensor is one tensor of a network's state: where its floats live
// on the device, under its state_dict name and shape.
type stateTensor struct {
	name  string
	shape []int
	buf   *vk.Buffer
	off   int // float offset in buf
	count int
}

// state lists a network's state to save or load: parameters, BN running
// statistics and, with optimizer, Adam's moments (a trained network's).
func (p *netParams) state(optimizer bool) []stateTensor {
	var out []stateTensor
	for i, l := range p.spec.layers {
		for _, t := range p.layers[i] {
			out = append(out, stateTensor{t.name, t.shape, t.val, 0, t.count()})
		}
		if rs := p.running[i]; rs != nil {
			for j, t := range l.running(p.spec.name) { // mean, then variance
				out = append(out, stateTensor{t.name, t.shape, rs, j * l.k, l.k})
			}
		}
	}
	if optimizer {
		for _, t := range p.all {
			out = append(out, stateTensor{"optimizer." + t.name + ".exp_avg", t.shape, t.m, 0, t.count()},
				stateTensor{"optimizer." + t.name + ".exp_avg_sq", t.shape, t.v, 0, t.count()})
		}
	}
	return out
}

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
		p         *netParams
		optimizer bool
		batches   int // batch norm's num_batches_tracked
	}{{t.g, true, t.step * bnForwards[gen]}, {t.d, true, t.step * bnForwards[disc]}, {t.ema, false, calibPasses}} {
		if n.p == nil {
			continue
		}
		for _, st := range n.p.state(n.optimizer) {
			v, err := readRange(st.buf, st.off, st.count)
			if err != nil {
				return nil, fmt.Errorf("gan: reading %s from the device: %w", st.name, err)
			}
			if !finite(v) {
				return nil, fmt.Errorf("%w: %s holds NaN or infinite values, which no checkpoint keeps", ErrDiverged, st.name)
			}
			out = append(out, Tensor{Name: st.name, Shape: st.shape, F32: v})
		}
		for i, l := range n.p.spec.layers {
			if n.p.running[i] != nil { // PyTorch's num_batches_tracked
				out = append(out, Tensor{Name: fmt.Sprintf("%s.%d.num_batches_tracked", n.p.spec.name, l.module),
					Shape: []int{}, I64: []int64{int64(n.batches)}})
			}
		}
	}
	return out, nil
}

func readRange(b *vk.Buffer, off, n int) ([]float32, error) {
	out := make([]float32, n)
	if err := b.Download(4*off, vk.Float32Bytes(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// Restore replaces the trainer's state with src's (every tensor State
// lists but the counters, which follow from the step) and moves it to
// step. The caller checks that src was written for this configuration.
func (t *Trainer) Restore(step int, src TensorSource) error {
	for _, p := range []*netParams{t.g, t.d} {
		if err := loadState(src, p.state(true)); err != nil {
			return err
		}
	}
	if t.ema != nil {
		if err := loadState(src, t.ema.state(false)); err != nil {
			return err
		}
		t.emaCalibrated = true // as they were saved
	}
	if err := t.weightsChanged(); err != nil {
		return err
	}
	return t.setStep(step)
}

func loadState(src TensorSource, sts []stateTensor) error {
	for _, s := range sts {
		v, err := src.Floats(s.name, s.shape)
		if err != nil {
			return err
		}
		if len(v) != s.count {
			return fmt.Errorf("gan: %s has %d values, want %d", s.name, len(v), s.count)
		}
		if err := s.buf.Upload(4*s.off, vk.Float32Bytes(v)); err != nil {
			return fmt.Errorf("gan: loading %s onto the device: %w", s.name, err)
		}
	}
	return nil
}
