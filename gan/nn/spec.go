package nn

import (
	"fmt"
	"strings"

	"github.com/gan-vk/gan-vk/layers"
)

// Kind is what a layer of a network does.
type Kind int

const (
	Dense     Kind = iota // nn.Linear
	Conv                  // nn.Conv2d
	ConvT                 // nn.ConvTranspose2d
	BatchNorm             // nn.BatchNorm2d
	Dropout               // nn.Dropout
)

// GEMM reports whether the layer is a dense, conv or transposed-conv
// layer: one whose passes are GEMMs with weights to rearrange.
func (k Kind) GEMM() bool { return k == Dense || k == Conv || k == ConvT }

// LayerSpec is one layer of a network, per sample: a C×H×W input and a
// K×OH×OW output. A dense layer's input and output are flat (H = W = 1):
// the reshapes between dense and convolutional layers are free in NCHW.
type LayerSpec struct {
	Kind                  Kind
	Module                int // index in the PyTorch nn.Sequential (state_dict names)
	C, H, W               int
	K, OH, OW             int
	Size, Stride, Padding int // square kernel
	OutPad                int
	Bias                  bool
	Act                   layers.Activation // fused after the layer
	P                     float32           // dropout probability
	// SN normalises a dense or conv layer's weight by its largest singular
	// value (spectral norm, layers.SpectralNorm): the trained tensor is
	// weight_orig, and u and v (weight_u, weight_v) are kept beside it.
	SN bool
	// Classes makes a layer read each sample's class (Mode.Labels), one of
	// Classes. A batch norm is class-conditional (StudioGAN's, BigGAN's):
	// it normalises without γ and β of its own, then scales and shifts
	// each sample by its class's row of two embeddings (gain.weight and
	// bias.weight, Classes×K). A dense layer is a projection
	// discriminator's last (Miyato and Koyama): each sample's output gains
	// ⟨embed(class), input⟩, from an embedding embed.weight, Classes×C.
	// 0: an unconditional layer.
	Classes int
}

// InCount and OutCount are the floats of one sample's input and output.
func (l LayerSpec) InCount() int  { return l.C * l.H * l.W }
func (l LayerSpec) OutCount() int { return l.K * l.OH * l.OW }

// Spec is a network as a sequence of layers.
type Spec struct {
	Name    string // the state_dict prefix: "generator", "discriminator", …
	Layers  []LayerSpec
	Modules int // modules in the PyTorch nn.Sequential
}

// Renamed is the same network under another state_dict prefix (the EMA
// generator's generator_ema).
func (s Spec) Renamed(name string) Spec {
	s.Name = name
	return s
}

// Builder appends layers to a Spec, tracking the shape and the PyTorch
// module index: activations, Flatten and Unflatten are modules there but
// fused or free here.
type Builder struct {
	net     Spec
	c, h, w int
	sn      bool // the dense and conv layers added from now on are spectrally normalised
	classes int  // the batch norms added from now on are conditional on this many classes
}

// NewBuilder starts the network name on inputs of c×h×w.
func NewBuilder(name string, c, h, w int) *Builder {
	return &Builder{net: Spec{Name: name}, c: c, h: h, w: w}
}

// Spec is the network built so far.
func (b *Builder) Spec() Spec { return b.net }

// SpectralNorm turns spectral normalisation on or off for the dense and
// conv layers added after it (torch.nn.utils.spectral_norm around each).
func (b *Builder) SpectralNorm(on bool) { b.sn = on }

// Conditional makes the batch norms added after it class-conditional on
// one of classes (0: unconditional ones).
func (b *Builder) Conditional(classes int) { b.classes = classes }

// Project gives the last layer, a dense one to a single logit after at
// least one other layer, a projection discriminator's class term over
// classes (0: none).
func (b *Builder) Project(classes int) {
	last := len(b.net.Layers) - 1
	if last < 1 || b.net.Layers[last].Kind != Dense || b.net.Layers[last].K != 1 {
		panic("nn: a projection follows a dense layer to one logit that is not the network's first")
	}
	b.net.Layers[last].Classes = classes
}

func (b *Builder) add(l LayerSpec, modules int) {
	if b.sn && (l.Kind == Dense || l.Kind == Conv) {
		l.SN = true
	}
	l.Module = b.net.Modules
	l.C, l.H, l.W = b.c, b.h, b.w
	b.net.Layers = append(b.net.Layers, l)
	b.net.Modules += modules
	b.c, b.h, b.w = l.K, l.OH, l.OW
}

// Linear adds nn.Linear from the flattened input to k outputs (plus a
// fused activation, one more module).
func (b *Builder) Linear(k int, bias bool, act layers.Activation) {
	b.c, b.h, b.w = b.c*b.h*b.w, 1, 1
	b.add(LayerSpec{Kind: Dense, K: k, OH: 1, OW: 1, Bias: bias, Act: act}, 1+actModules(act))
}

// Unflatten is nn.Unflatten to c×h×w: a module, no work.
func (b *Builder) Unflatten(c, h, w int) {
	b.c, b.h, b.w = c, h, w
	b.net.Modules++
}

// Flatten is nn.Flatten: a module, no work (Linear flattens).
func (b *Builder) Flatten() { b.net.Modules++ }

// Conv adds nn.Conv2d 5×5 with the given stride, padding 2.
func (b *Builder) Conv(k, stride int, bias bool, act layers.Activation) {
	oh := (b.h+4-5)/stride + 1
	ow := (b.w+4-5)/stride + 1
	b.add(LayerSpec{Kind: Conv, K: k, OH: oh, OW: ow, Size: 5, Stride: stride, Padding: 2, Bias: bias, Act: act}, 1+actModules(act))
}

// ConvT adds nn.ConvTranspose2d 5×5, padding 2, with the output padding
// that makes stride 2 double H and W.
func (b *Builder) ConvT(k, stride int, bias bool, act layers.Activation) {
	op := stride - 1
	oh := (b.h-1)*stride - 4 + 5 + op
	ow := (b.w-1)*stride - 4 + 5 + op
	b.add(LayerSpec{Kind: ConvT, K: k, OH: oh, OW: ow, Size: 5, Stride: stride, Padding: 2, OutPad: op, Bias: bias, Act: act}, 1+actModules(act))
}

// BN adds nn.BatchNorm2d with a fused activation.
func (b *Builder) BN(act layers.Activation) {
	b.add(LayerSpec{Kind: BatchNorm, K: b.c, OH: b.h, OW: b.w, Act: act, Classes: b.classes}, 1+actModules(act))
}

// Drop adds nn.Dropout(p). With p 0 the module stays (the state_dict names
// do not depend on it) but no layer runs.
func (b *Builder) Drop(p float32) {
	if p == 0 {
		b.net.Modules++
		return
	}
	b.add(LayerSpec{Kind: Dropout, K: b.c, OH: b.h, OW: b.w, P: p}, 1)
}

func actModules(a layers.Activation) int {
	if a.Act == layers.None {
		return 0
	}
	return 1
}

// TensorSpec is one parameter tensor (or batch-norm running statistic) by
// its state_dict name and PyTorch shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Count is the tensor's number of elements.
func (t TensorSpec) Count() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Running lists a batch-norm layer's running statistics, mean then
// variance, by state_dict name; nil for any other layer. A conditional
// batch norm's are its inner nn.BatchNorm2d's (bn.running_mean, …).
func (l LayerSpec) Running(prefix string) []TensorSpec {
	if l.Kind != BatchNorm {
		return nil
	}
	return []TensorSpec{{l.bnName(prefix, "running_mean"), []int{l.K}}, {l.bnName(prefix, "running_var"), []int{l.K}}}
}

// Counter is a batch-norm layer's num_batches_tracked, by state_dict name.
func (l LayerSpec) Counter(prefix string) string { return l.bnName(prefix, "num_batches_tracked") }

func (l LayerSpec) bnName(prefix, s string) string {
	if l.Classes > 0 {
		s = "bn." + s
	}
	return fmt.Sprintf("%s.%d.%s", prefix, l.Module, s)
}

// Params lists a layer's trained parameters in state_dict order: weight
// then bias (γ then β for batch norm; a conditional batch norm's gain
// and bias embeddings), then a projection's embedding.
func (l LayerSpec) Params(prefix string) []TensorSpec {
	name := func(s string) string { return fmt.Sprintf("%s.%d.%s", prefix, l.Module, s) }
	var w []int
	switch l.Kind {
	case Dense:
		w = []int{l.K, l.C}
	case Conv:
		w = []int{l.K, l.C, l.Size, l.Size}
	case ConvT:
		w = []int{l.C, l.K, l.Size, l.Size}
	case BatchNorm:
		if l.Classes > 0 {
			return []TensorSpec{{name("gain.weight"), []int{l.Classes, l.K}}, {name("bias.weight"), []int{l.Classes, l.K}}}
		}
		return []TensorSpec{{name("weight"), []int{l.K}}, {name("bias"), []int{l.K}}}
	default:
		return nil
	}
	weight := "weight"
	if l.SN {
		weight = "weight_orig"
	}
	out := []TensorSpec{{name(weight), w}}
	if l.Bias {
		out = append(out, TensorSpec{name("bias"), []int{l.K}})
	}
	if l.Classes > 0 {
		out = append(out, TensorSpec{name("embed.weight"), []int{l.Classes, l.C}})
	}
	return out
}

// drawn reports whether parameter j of Params is drawn at initialisation
// (a weight, batch norm's γ or a conditional one's gain, a projection's
// embedding) rather than set to 0 (a bias, β).
func (l LayerSpec) drawn(j int) bool {
	return j == 0 || l.Kind == Dense && l.Classes > 0 && j == len(l.Params(""))-1
}

// SNShape is the matrix spectral norm sees a layer's weight as, PyTorch's
// weight.reshape(out, -1): rows the outputs, cols the rest.
func (l LayerSpec) SNShape() (rows, cols int) {
	if l.Kind == Dense {
		return l.K, l.C
	}
	return l.K, l.C * l.Size * l.Size
}

// SNVectors lists a spectrally normalised layer's u and v by state_dict
// name (weight_u, weight_v, as torch.nn.utils.spectral_norm keeps them);
// nil for any other layer.
func (l LayerSpec) SNVectors(prefix string) []TensorSpec {
	if !l.SN {
		return nil
	}
	rows, cols := l.SNShape()
	name := func(s string) string { return fmt.Sprintf("%s.%d.%s", prefix, l.Module, s) }
	return []TensorSpec{{name("weight_u"), []int{rows}}, {name("weight_v"), []int{cols}}}
}

// Counts are the floats of the network's parameters and of its batch
// norms' running statistics, the tensors alone (no padding between them).
func (s Spec) Counts() (params, running int) {
	for _, l := range s.Layers {
		for _, t := range l.Params(s.Name) {
			params += t.Count()
		}
		if l.Kind == BatchNorm {
			running += 2 * l.K
		}
	}
	return params, running
}

// MACs is the multiply-adds of one pass of l over n samples, counted the
// dense way, every tap of the kernel, padding included (the same in its
// forward, data and filter passes); 0 for a layer that is not dense, conv
// or transposed conv:
//
//	dense           N·In·Out
//	conv2d          N·K·OH·OW·C·KH·KW
//	conv_transpose  N·C·H·W·K·KH·KW
func (l LayerSpec) MACs(n int) float64 {
	switch l.Kind {
	case Dense:
		return float64(n) * float64(l.InCount()) * float64(l.OutCount())
	case Conv:
		return float64(n) * float64(l.K*l.OH*l.OW) * float64(l.C*l.Size*l.Size)
	case ConvT:
		return float64(n) * float64(l.C*l.H*l.W) * float64(l.K*l.Size*l.Size)
	}
	return 0
}

// LayerName names layer i in a profile: "G.4 convT 1024→512 8×8".
func (s Spec) LayerName(i int) string {
	l := s.Layers[i]
	net := strings.ToUpper(s.Name[:1])
	switch l.Kind {
	case Dense:
		return fmt.Sprintf("%s.%d dense %d→%d", net, l.Module, l.InCount(), l.OutCount())
	case Conv:
		return fmt.Sprintf("%s.%d conv %d→%d %d×%d", net, l.Module, l.C, l.K, l.OH, l.OW)
	case ConvT:
		return fmt.Sprintf("%s.%d convT %d→%d %d×%d", net, l.Module, l.C, l.K, l.OH, l.OW)
	case BatchNorm:
		if l.Classes > 0 {
			return fmt.Sprintf("%s.%d class batchnorm %d %d×%d", net, l.Module, l.K, l.OH, l.OW)
		}
		return fmt.Sprintf("%s.%d batchnorm %d %d×%d", net, l.Module, l.K, l.OH, l.OW)
	case Dropout:
		return fmt.Sprintf("%s.%d dropout %d×%d×%d", net, l.Module, l.K, l.OH, l.OW)
	}
	return fmt.Sprintf("%s.%d", net, l.Module)
}

// The profile's scopes: each recorded command is attributed to a layer (or
// a part of a step outside the networks) and to the phase it belongs to,
// "layer/phase".
const (
	PhaseForward  = "fwd"
	PhaseBackward = "bwd"
)

// Scope is the profile scope of name in phase.
func Scope(name, phase string) string { return name + "/" + phase }

// The op configurations of a dense, conv or transposed-conv layer at batch
// n, each GEMM pass with the tile tiles gives it (nil: the heuristic's).
// A trainer's network (prepared) rearranges its weights for the GEMMs
// once after each update (Net.Prepare), not in every pass.
func (l LayerSpec) linear(n int, tiles layers.Tiler, prepared bool) layers.LinearConfig {
	return layers.LinearConfig{N: n, In: l.C, Out: l.K, Bias: l.Bias, Act: l.Act, Tiles: tiles, PreparedWeights: prepared}
}

func (l LayerSpec) conv2d(n int, tiles layers.Tiler, prepared bool) layers.Conv2dConfig {
	return layers.Conv2dConfig{N: n, C: l.C, H: l.H, W: l.W, K: l.K, KH: l.Size, KW: l.Size,
		Stride: l.Stride, Pad: l.Padding, Bias: l.Bias, Act: l.Act, Tiles: tiles, PreparedWeights: prepared}
}

func (l LayerSpec) convT2d(n int, tiles layers.Tiler, prepared bool) layers.ConvTranspose2dConfig {
	return layers.ConvTranspose2dConfig{N: n, C: l.C, H: l.H, W: l.W, K: l.K,
		KH: l.Size, KW: l.Size, Stride: l.Stride, Pad: l.Padding, OutPad: l.OutPad, Bias: l.Bias, Act: l.Act, Tiles: tiles,
		PreparedWeights: prepared}
}

// GEMMPasses are the GEMM passes of a dense, conv or transposed-conv layer
// at batch n; false for any other layer.
func (l LayerSpec) GEMMPasses(n int) (layers.Passes, bool) {
	switch l.Kind {
	case Dense:
		return l.linear(n, nil, false).Passes(), true
	case Conv:
		return l.conv2d(n, nil, false).Passes(), true
	case ConvT:
		return l.convT2d(n, nil, false).Passes(), true
	}
	return layers.Passes{}, false
}
