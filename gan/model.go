package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
)

// ModelConfig is everything that fixes the shapes of a DCGAN's parameters:
// the preset, the image it makes and the width of both networks (the batch
// is TrainConfig's).
type ModelConfig struct {
	Preset   string  `json:"preset"`   // "dcgan64" or "dcgan28"
	Channels int     `json:"channels"` // image channels: 1 grayscale, 3 colour
	Z        int     `json:"z"`        // latent size
	GF       int     `json:"gf"`       // generator width (carpedm20's gf_dim)
	DF       int     `json:"df"`       // discriminator width (df_dim)
	Leak     float32 `json:"leak"`     // LeakyReLU slope
	Dropout  float32 `json:"dropout"`  // dcgan28's discriminator dropout; 0 turns it off
}

// maxWidth bounds z, gf and df: far past any DCGAN, and small enough that
// no tensor's size overflows before the device refuses it.
const maxWidth = 1 << 14

// Presets are the models gan-vk builds, by name.
var Presets = []string{"dcgan64", "dcgan28"}

// DefaultModel is the preset's configuration with the tutorial's widths.
// dcgan64's generator runs 1024, 512, 256, 128 channels (GF 128, as the
// DCGAN paper's figure) and its discriminator 64, 128, 256, 512 (DF 64);
// dcgan28's generator 256, 128, 64 and its discriminator 64, 128.
func DefaultModel(preset string, channels int) (ModelConfig, error) {
	cfg := ModelConfig{Preset: preset, Channels: channels, Z: 100, DF: 64, Leak: 0.2}
	switch preset {
	case "dcgan64":
		cfg.GF = 128
	case "dcgan28":
		cfg.GF, cfg.Dropout = 64, 0.3
	default:
		return cfg, fmt.Errorf("unknown preset %q; the presets are %v", preset, Presets)
	}
	return cfg, cfg.Check()
}

// Size is the side of the square images the preset makes.
func (c ModelConfig) Size() int {
	if c.Preset == "dcgan28" {
		return 28
	}
	return 64
}

// Check reports a configuration no model can be built from.
func (c ModelConfig) Check() error {
	switch {
	case c.Preset != "dcgan64" && c.Preset != "dcgan28":
		return fmt.Errorf("unknown preset %q; the presets are %v", c.Preset, Presets)
	case c.Channels != 1 && c.Channels != 3:
		return fmt.Errorf("images have %d channels; gan-vk trains on 1 (grayscale) or 3 (colour)", c.Channels)
	case c.Z <= 0 || c.GF <= 0 || c.DF <= 0:
		return fmt.Errorf("z %d, gf %d and df %d must be positive", c.Z, c.GF, c.DF)
	case c.Z > maxWidth || c.GF > maxWidth || c.DF > maxWidth:
		return fmt.Errorf("z %d, gf %d and df %d must be at most %d", c.Z, c.GF, c.DF, maxWidth)
	case c.Leak < 0 || c.Leak >= 1:
		return fmt.Errorf("LeakyReLU slope %g must be in [0, 1)", c.Leak)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %g must be in [0, 1)", c.Dropout)
	}
	return nil
}

// kind is what a layer of a network does.
type kind int

const (
	dense     kind = iota // nn.Linear
	conv                  // nn.Conv2d
	convT                 // nn.ConvTranspose2d
	batchNorm             // nn.BatchNorm2d
	dropout               // nn.Dropout
)

// layerSpec is one layer of a network, per sample: a C×H×W input and a
// K×OH×OW output. A dense layer's input and output are flat (H = W = 1):
// the reshapes between dense and convolutional layers are free in NCHW.
type layerSpec struct {
	kind                  kind
	module                int // index in the PyTorch nn.Sequential (state_dict names)
	c, h, w               int
	k, oh, ow             int
	size, stride, padding int // square kernel
	outPad                int
	bias                  bool
	act                   layers.Activation // fused after the layer
	p                     float32           // dropout probability
}

func (l layerSpec) inCount() int  { return l.c * l.h * l.w }
func (l layerSpec) outCount() int { return l.k * l.oh * l.ow }

// netSpec is a network as a sequence of layers.
type netSpec struct {
	name    string // "generator" or "discriminator": the state_dict prefix
	layers  []layerSpec
	modules int // modules in the PyTorch nn.Sequential
}

// builder appends layers to a netSpec, tracking the shape and the PyTorch
// module index: activations, Flatten and Unflatten are modules there but
// fused or free here.
type builder struct {
	net     netSpec
	c, h, w int
}

func (b *builder) add(l layerSpec, modules int) {
	l.module = b.net.modules
	l.c, l.h, l.w = b.c, b.h, b.w
	b.net.layers = append(b.net.layers, l)
	b.net.modules += modules
	b.c, b.h, b.w = l.k, l.oh, l.ow
}

// linear adds nn.Linear from the flattened input to k outputs (plus a
// fused activation, one more module).
func (b *builder) linear(k int, bias bool, act layers.Activation) {
	b.c, b.h, b.w = b.c*b.h*b.w, 1, 1
	b.add(layerSpec{kind: dense, k: k, oh: 1, ow: 1, bias: bias, act: act}, 1+actModules(act))
}

// unflatten is nn.Unflatten to c×h×w: a module, no work.
func (b *builder) unflatten(c, h, w int) {
	b.c, b.h, b.w = c, h, w
	b.net.modules++
}

// flatten is nn.Flatten: a module, no work (linear flattens).
func (b *builder) flatten() { b.net.modules++ }

// conv adds nn.Conv2d 5×5 with the given stride, padding 2.
func (b *builder) conv(k, stride int, bias bool, act layers.Activation) {
	oh := (b.h+4-5)/stride + 1
	ow := (b.w+4-5)/stride + 1
	b.add(layerSpec{kind: conv, k: k, oh: oh, ow: ow, size: 5, stride: stride, padding: 2, bias: bias, act: act}, 1+actModules(act))
}

// convT adds nn.ConvTranspose2d 5×5, padding 2, with the output padding
// that makes stride 2 double H and W.
func (b *builder) convT(k, stride int, bias bool, act layers.Activation) {
	op := stride - 1
	oh := (b.h-1)*stride - 4 + 5 + op
	ow := (b.w-1)*stride - 4 + 5 + op
	b.add(layerSpec{kind: convT, k: k, oh: oh, ow: ow, size: 5, stride: stride, padding: 2, outPad: op, bias: bias, act: act}, 1+actModules(act))
}

// bn adds nn.BatchNorm2d with a fused activation.
func (b *builder) bn(act layers.Activation) {
	b.add(layerSpec{kind: batchNorm, k: b.c, oh: b.h, ow: b.w, act: act}, 1+actModules(act))
}

// drop adds nn.Dropout(p). With p 0 the module stays (the state_dict names
// do not depend on it) but no layer runs.
func (b *builder) drop(p float32) {
	if p == 0 {
		b.net.modules++
		return
	}
	b.add(layerSpec{kind: dropout, k: b.c, oh: b.h, ow: b.w, p: p}, 1)
}

func actModules(a layers.Activation) int {
	if a.Act == layers.None {
		return 0
	}
	return 1
}

// generator is the preset's generator: z → image in [-1, 1].
func (c ModelConfig) generator() netSpec {
	leaky, tanh := layers.LeakyReLU(c.Leak), layers.Activation{Act: layers.Tanh}
	b := &builder{net: netSpec{name: "generator"}, c: c.Z, h: 1, w: 1}
	if c.Preset == "dcgan28" {
		// TF2 tutorial: dense 7·7·256, then 128 (stride 1), 64, and the image.
		b.linear(7*7*4*c.GF, false, layers.Activation{})
		b.unflatten(4*c.GF, 7, 7)
		b.bn(leaky)
		b.convT(2*c.GF, 1, false, layers.Activation{})
		b.bn(leaky)
		b.convT(c.GF, 2, false, layers.Activation{})
		b.bn(leaky)
		b.convT(c.Channels, 2, true, tanh)
		return b.net
	}
	// carpedm20 / the DCGAN paper: dense 4·4·8gf, then 4gf, 2gf, gf and the image.
	b.linear(4*4*8*c.GF, false, layers.Activation{})
	b.unflatten(8*c.GF, 4, 4)
	b.bn(leaky)
	for _, k := range []int{4 * c.GF, 2 * c.GF, c.GF} {
		b.convT(k, 2, false, layers.Activation{})
		b.bn(leaky)
	}
	b.convT(c.Channels, 2, true, tanh)
	return b.net
}

// discriminator is the preset's discriminator: image → one logit.
func (c ModelConfig) discriminator() netSpec {
	leaky := layers.LeakyReLU(c.Leak)
	s := c.Size()
	b := &builder{net: netSpec{name: "discriminator"}, c: c.Channels, h: s, w: s}
	if c.Preset == "dcgan28" {
		b.conv(c.DF, 2, true, leaky)
		b.drop(c.Dropout)
		b.conv(2*c.DF, 2, true, leaky)
		b.drop(c.Dropout)
		b.flatten()
		b.linear(1, true, layers.Activation{})
		return b.net
	}
	b.conv(c.DF, 2, true, leaky)
	for _, k := range []int{2 * c.DF, 4 * c.DF, 8 * c.DF} {
		b.conv(k, 2, false, layers.Activation{})
		b.bn(leaky)
	}
	b.flatten()
	b.linear(1, true, layers.Activation{})
	return b.net
}

// tensorSpec is one parameter tensor (or BN running statistic) by its
// state_dict name and PyTorch shape.
type tensorSpec struct {
	name  string
	shape []int
}

func (t tensorSpec) count() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// running is a batch-norm layer's running statistics, mean then variance,
// by state_dict name.
func (l layerSpec) running(prefix string) []tensorSpec {
	if l.kind != batchNorm {
		return nil
	}
	name := func(s string) string { return fmt.Sprintf("%s.%d.%s", prefix, l.module, s) }
	return []tensorSpec{{name("running_mean"), []int{l.k}}, {name("running_var"), []int{l.k}}}
}

// params lists a layer's trained parameters in state_dict order: weight
// then bias (γ then β for batch norm).
func (l layerSpec) params(prefix string) []tensorSpec {
	name := func(s string) string { return fmt.Sprintf("%s.%d.%s", prefix, l.module, s) }
	var w []int
	switch l.kind {
	case dense:
		w = []int{l.k, l.c}
	case conv:
		w = []int{l.k, l.c, l.size, l.size}
	case convT:
		w = []int{l.c, l.k, l.size, l.size}
	case batchNorm:
		return []tensorSpec{{name("weight"), []int{l.k}}, {name("bias"), []int{l.k}}}
	default:
		return nil
	}
	out := []tensorSpec{{name("weight"), w}}
	if l.bias {
		out = append(out, tensorSpec{name("bias"), []int{l.k}})
	}
	return out
}
