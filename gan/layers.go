package gan

import (
	"github.com/gan-vk/gan-vk/layers"
)

// Layer is one layer of a trained network as an exporter (gan/onnx)
// writes it: what it computes, its shapes, and the state_dict names of
// the tensors that hold its parameters, which a TensorSource (a
// checkpoint) gives.
type Layer struct {
	Op      string // "linear", "conv", "conv_transpose", "batch_norm" or "dropout"
	In, Out [3]int // C, H, W of one sample; a linear layer's are C×1×1
	// A convolution's square kernel; OutPadding is a transposed one's.
	Size, Stride, Padding, OutPadding int
	// The tensors: a linear layer's or convolution's weight (PyTorch's
	// shapes) and bias; batch norm's weight (γ), bias (β), running_mean and
	// running_var.
	Params []string
	Shapes [][]int
	Act    string  // the activation fused after it: "", "leaky_relu", "tanh" or "sigmoid"
	Slope  float32 // LeakyReLU's negative slope
	Eps    float32 // batch norm's ε
	P      float32 // dropout's probability
}

// bnEps is batch norm's ε: layers.BatchNorm2d's default, PyTorch's.
const bnEps = 1e-5

// GeneratorLayers lists one of a run's generators layer by layer: with
// EMAWeights (or the default, for a run that keeps an EMA) the EMA
// generator, whose tensors are generator_ema.*.
func GeneratorLayers(cfg TrainConfig, w Weights) ([]Layer, error) {
	spec := cfg.Model.generator()
	if w.For(cfg) == EMAWeights {
		if cfg.EMA == 0 {
			return nil, errNoEMA
		}
		spec = cfg.Model.generatorEMA()
	}
	return spec.export(), nil
}

func (s netSpec) export() []Layer {
	out := make([]Layer, len(s.layers))
	for i, l := range s.layers {
		e := Layer{In: [3]int{l.c, l.h, l.w}, Out: [3]int{l.k, l.oh, l.ow},
			Size: l.size, Stride: l.stride, Padding: l.padding, OutPadding: l.outPad, P: l.p}
		e.Op = map[kind]string{dense: "linear", conv: "conv", convT: "conv_transpose", batchNorm: "batch_norm", dropout: "dropout"}[l.kind]
		for _, t := range l.params(s.name) {
			e.Params, e.Shapes = append(e.Params, t.name), append(e.Shapes, t.shape)
		}
		if l.kind == batchNorm {
			e.Eps = bnEps
			for _, t := range l.running(s.name) {
				e.Params, e.Shapes = append(e.Params, t.name), append(e.Shapes, t.shape)
			}
		}
		if l.act.Act != layers.None {
			e.Act, e.Slope = l.act.Act.String(), l.act.Slope
		}
		out[i] = e
	}
	return out
}
