package nn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gan-vk/gan-vk/vk"
)

// Tensor is one tensor of a network's state under its PyTorch state_dict
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

// ErrDiverged is returned when a loss or a parameter becomes NaN or
// infinite.
var ErrDiverged = errors.New("training diverged")

// stateTensor is one tensor of a network's state: where its floats live
// on the device, under its state_dict name and shape.
type stateTensor struct {
	TensorSpec
	buf *vk.Buffer
	off int // float offset in buf
}

// state lists the store's tensors to save or load in state_dict order:
// parameters, batch norm's running statistics, spectral norm's u and v
// and, with optimizer, Adam's moments (a trained network's).
func (p *Store) state(optimizer bool) []stateTensor {
	var out []stateTensor
	for i, l := range p.Spec.Layers {
		for _, t := range p.Layers[i] {
			out = append(out, stateTensor{t.TensorSpec, t.Val, 0})
		}
		if rs := p.Running[i]; rs != nil {
			for j, t := range l.Running(p.Spec.Name) { // mean, then variance
				out = append(out, stateTensor{t, rs, j * l.K})
			}
		}
		if sn := p.SN[i]; sn != nil {
			vs := l.SNVectors(p.Spec.Name)
			out = append(out, stateTensor{vs[0], sn.U, 0}, stateTensor{vs[1], sn.V, 0})
		}
	}
	if optimizer {
		for _, t := range p.All {
			out = append(out, stateTensor{TensorSpec{"optimizer." + t.Name + ".exp_avg", t.Shape}, t.M, 0},
				stateTensor{TensorSpec{"optimizer." + t.Name + ".exp_avg_sq", t.Shape}, t.V, 0})
		}
	}
	return out
}

// Read reads the store's state from the device (with optimizer, Adam's
// moments too). A value that is NaN or infinite is ErrDiverged: no
// checkpoint keeps one.
func (p *Store) Read(optimizer bool) ([]Tensor, error) {
	var out []Tensor
	for _, st := range p.state(optimizer) {
		v, err := ReadRange(st.buf, st.off, st.Count())
		if err != nil {
			return nil, fmt.Errorf("nn: reading %s from the device: %w", st.Name, err)
		}
		if !Finite(v) {
			return nil, fmt.Errorf("%w: %s holds NaN or infinite values, which no checkpoint keeps", ErrDiverged, st.Name)
		}
		out = append(out, Tensor{Name: st.Name, Shape: st.Shape, F32: v})
	}
	return out, nil
}

// Load replaces the store's state (with optimizer, Adam's moments too)
// with src's.
func (p *Store) Load(src TensorSource, optimizer bool) error {
	for _, s := range p.state(optimizer) {
		v, err := src.Floats(s.Name, s.Shape)
		if err != nil {
			return err
		}
		if len(v) != s.Count() {
			return fmt.Errorf("nn: %s has %d values, want %d", s.Name, len(v), s.Count())
		}
		if err := s.buf.Upload(4*s.off, vk.Float32Bytes(v)); err != nil {
			return fmt.Errorf("nn: loading %s onto the device: %w", s.Name, err)
		}
	}
	return nil
}

// Counters are the num_batches_tracked of each of the store's batch
// norms, PyTorch's counters, all batches.
func (p *Store) Counters(batches int) []Tensor {
	var out []Tensor
	for i, l := range p.Spec.Layers {
		if p.Running[i] != nil {
			out = append(out, Tensor{Name: l.Counter(p.Spec.Name),
				Shape: []int{}, I64: []int64{int64(batches)}})
		}
	}
	return out
}

// Tensors is a TensorSource over tensors in memory (what Read returned).
type Tensors []Tensor

// Floats is the values of the tensor named name, which must have shape.
func (ts Tensors) Floats(name string, shape []int) ([]float32, error) {
	for _, t := range ts {
		if t.Name == name {
			if !slices.Equal(t.Shape, shape) {
				return nil, fmt.Errorf("nn: %s has shape %v, want %v", name, t.Shape, shape)
			}
			return t.F32, nil
		}
	}
	return nil, fmt.Errorf("nn: no tensor %s", name)
}
