package nn

import "github.com/gan-vk/gan-vk/layers"

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
	// running_var (a conditional one's gain and bias embeddings in place of
	// γ and β, Classes×C each).
	Params []string
	Shapes [][]int
	Act    string  // the activation fused after it: "", "leaky_relu", "tanh" or "sigmoid"
	Slope  float32 // LeakyReLU's negative slope
	Eps    float32 // batch norm's ε
	P      float32 // dropout's probability
	// Classes makes a batch norm class-conditional (LayerSpec.Classes).
	Classes int
}

// BNEps is batch norm's ε: layers.BatchNorm2d's default, PyTorch's.
const BNEps = 1e-5

var opNames = [...]string{Dense: "linear", Conv: "conv", ConvT: "conv_transpose", BatchNorm: "batch_norm", Dropout: "dropout"}

// Export lists the network layer by layer for an exporter.
func (s Spec) Export() []Layer {
	out := make([]Layer, len(s.Layers))
	for i, l := range s.Layers {
		e := Layer{Op: opNames[l.Kind], In: [3]int{l.C, l.H, l.W}, Out: [3]int{l.K, l.OH, l.OW},
			Size: l.Size, Stride: l.Stride, Padding: l.Padding, OutPadding: l.OutPad, P: l.P, Classes: l.Classes}
		for _, t := range append(l.Params(s.Name), l.Running(s.Name)...) {
			e.Params, e.Shapes = append(e.Params, t.Name), append(e.Shapes, t.Shape)
		}
		if l.Kind == BatchNorm {
			e.Eps = BNEps
		}
		if l.Act.Act != layers.None {
			e.Act, e.Slope = l.Act.Act.String(), l.Act.Slope
		}
		out[i] = e
	}
	return out
}
