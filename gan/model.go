package gan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
)

// ModelConfig is everything that fixes the shapes of a DCGAN's parameters:
// the preset, the image it makes and the width of both networks (the batch
// is TrainConfig's).
type ModelConfig struct {
	Preset   string  `json:"preset"`   // "dcgan64", "dcgan28", or another of the DCGAN family (dcgan32 … dcgan256)
	Channels int     `json:"channels"` // image channels: 1 grayscale, 3 colour
	Z        int     `json:"z"`        // latent size
	GF       int     `json:"gf"`       // generator width (carpedm20's gf_dim)
	DF       int     `json:"df"`       // discriminator width (df_dim)
	Leak     float32 `json:"leak"`     // LeakyReLU slope
	Dropout  float32 `json:"dropout"`  // dcgan28's discriminator dropout; 0 turns it off
	// SN spectrally normalises the discriminator's conv and dense weights
	// (the DCGAN family's), as SNGAN does.
	SN bool `json:"sn,omitempty"`
	// DNorm is the discriminator's normalisation between its convs (the
	// DCGAN family's): batch norm, or none (each conv then has a bias).
	DNorm Norm `json:"d_norm,omitempty"`
	// Classes makes the model class-conditional on this many classes (0:
	// unconditional): the generator's batch norms take each sample's
	// class (conditional batch norm), and the discriminator adds a
	// projection of its class to its logit. ClassNames names them in class
	// order (an image folder's subfolders, a data set's known names), for
	// grids, sample and the window; the checkpoint keeps them.
	Classes    int      `json:"classes,omitempty"`
	ClassNames []string `json:"class_names,omitempty"`
}

// maxClasses bounds Classes: IDX labels are bytes, and a folder of more
// subfolders than this is not a class-labelled data set a DCGAN can learn.
const maxClasses = 1000

// Conditional reports whether the model is class-conditional.
func (c ModelConfig) Conditional() bool { return c.Classes > 0 }

// ClassName is class k's name: its ClassNames entry, or its number.
func (c ModelConfig) ClassName(k int) string {
	if k >= 0 && k < len(c.ClassNames) {
		return c.ClassNames[k]
	}
	return fmt.Sprint(k)
}

// ParseClass reads a class by name or number, as sample --class takes it.
func (c ModelConfig) ParseClass(s string) (int, error) {
	if !c.Conditional() {
		return 0, fmt.Errorf("class %q: this model is not class-conditional (trained without --conditional)", s)
	}
	for k, name := range c.ClassNames {
		if strings.EqualFold(name, s) {
			return k, nil
		}
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 0 || k >= c.Classes {
		return 0, fmt.Errorf("class %q does not exist: give a number from 0 to %d or a name (%s)", s, c.Classes-1, c.ClassList())
	}
	return k, nil
}

// ParseClasses reads a comma-separated list of classes, each by name or
// number (sample --class, interpolate --classes).
func (c ModelConfig) ParseClasses(list string) ([]uint32, error) {
	var out []uint32
	for _, part := range strings.Split(list, ",") {
		k, err := c.ParseClass(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, uint32(k))
	}
	return out, nil
}

// ClassList is the classes as a user reads them: "0 T-shirt/top, 1 Trouser, …".
func (c ModelConfig) ClassList() string {
	var parts []string
	for k := range c.Classes {
		parts = append(parts, fmt.Sprintf("%d %s", k, c.ClassName(k)))
	}
	return strings.Join(parts, ", ")
}

// Norm is a normalisation between a network's layers.
type Norm int

const (
	NormBatch Norm = iota // nn.BatchNorm2d
	NormNone              // nothing: the conv has a bias instead
)

var normNames = [...]string{NormBatch: "bn", NormNone: "none"}

func (n Norm) String() string {
	if n < 0 || int(n) >= len(normNames) {
		return fmt.Sprintf("Norm(%d)", int(n))
	}
	return normNames[n]
}

// ParseNorm reads a normalisation by name (bn or none).
func ParseNorm(name string) (Norm, error) {
	for n, s := range normNames {
		if s == name {
			return Norm(n), nil
		}
	}
	return 0, fmt.Errorf("%q is not a normalisation: use bn or none", name)
}

// MarshalText writes the normalisation's name (config.json).
func (n Norm) MarshalText() ([]byte, error) {
	if n < 0 || int(n) >= len(normNames) {
		return nil, fmt.Errorf("gan: unknown normalisation %d", int(n))
	}
	return []byte(n.String()), nil
}

// UnmarshalText reads a normalisation's name.
func (n *Norm) UnmarshalText(b []byte) error {
	v, err := ParseNorm(string(b))
	*n = v
	return err
}

// maxWidth bounds z, gf and df: far past any DCGAN, and small enough that
// no tensor's size overflows before the device refuses it.
const maxWidth = 1 << 14

// preset is one model gan-vk builds: the side of its images, its default
// widths, and its two networks.
type preset struct {
	name    string
	size    int
	gf      int     // the default generator width; the discriminator's is 64
	dropout float32 // the discriminator's default dropout
	family  bool    // one of the DCGAN family, whose size --size picks
	generator,
	discriminator func(c ModelConfig, size int) nn.Spec
}

// presets are the models, by name; the first is the default for colour.
// dcgan32 to dcgan256 are the DCGAN family (dcganGenerator), whose dcgan64
// is carpedm20's model.
var presets = [...]preset{
	{name: "dcgan64", size: 64, gf: 128, family: true, generator: dcganGenerator, discriminator: dcganDiscriminator},
	{name: "dcgan28", size: 28, gf: 64, dropout: 0.3, generator: dcgan28Generator, discriminator: dcgan28Discriminator},
	{name: "dcgan32", size: 32, gf: 128, family: true, generator: dcganGenerator, discriminator: dcganDiscriminator},
	{name: "dcgan128", size: 128, gf: 128, family: true, generator: dcganGenerator, discriminator: dcganDiscriminator},
	{name: "dcgan256", size: 256, gf: 128, family: true, generator: dcganGenerator, discriminator: dcganDiscriminator},
}

// Family sizes are the sides the DCGAN family's presets make.
const (
	MinFamilySize = 32
	MaxFamilySize = 256
)

// SizedPreset is the DCGAN family's preset for images of side size,
// where name is one of the family (or "", the family's default): --size.
func SizedPreset(name string, size int) (string, error) {
	if size < MinFamilySize || size > MaxFamilySize || size&(size-1) != 0 {
		return "", fmt.Errorf("size %d: give a power of two from %d to %d", size, MinFamilySize, MaxFamilySize)
	}
	p, ok := lookup(name)
	switch {
	case name == "":
	case !ok:
		return "", fmt.Errorf("unknown preset %q; the presets are %v", name, Presets)
	case !p.family:
		return "", fmt.Errorf("size %d: sizes are the DCGAN family's (dcgan32 to dcgan256); %s makes %d×%d images", size, name, p.size, p.size)
	case p.size != size:
		return "", fmt.Errorf("size %d: %s makes %d×%d images; give one of the two", size, name, p.size, p.size)
	}
	return fmt.Sprintf("dcgan%d", size), nil
}

// Presets are the names of the models gan-vk builds.
var Presets = func() []string {
	var names []string
	for _, p := range presets {
		names = append(names, p.name)
	}
	return names
}()

// lookup is the preset named name.
func lookup(name string) (preset, bool) {
	i := slices.IndexFunc(presets[:], func(p preset) bool { return p.name == name })
	if i < 0 {
		return preset{}, false
	}
	return presets[i], true
}

// preset is the configuration's preset; Check refuses an unknown name
// before anything asks for it.
func (c ModelConfig) preset() preset {
	p, ok := lookup(c.Preset)
	if !ok {
		panic(fmt.Sprintf("gan: unknown preset %q", c.Preset))
	}
	return p
}

// DefaultModel is the preset's configuration with the tutorial's widths.
// dcgan64's generator runs 1024, 512, 256, 128 channels (GF 128, as the
// DCGAN paper's figure) and its discriminator 64, 128, 256, 512 (DF 64);
// dcgan28's generator 256, 128, 64 and its discriminator 64, 128.
func DefaultModel(name string, channels int) (ModelConfig, error) {
	p, ok := lookup(name)
	if !ok {
		return ModelConfig{}, fmt.Errorf("unknown preset %q; the presets are %v", name, Presets)
	}
	cfg := ModelConfig{Preset: name, Channels: channels, Z: 100, GF: p.gf, DF: 64, Leak: 0.2, Dropout: p.dropout}
	return cfg, cfg.Check()
}

// Size is the side of the square images the preset makes.
func (c ModelConfig) Size() int {
	p, _ := lookup(c.Preset) // 0 for a configuration Check refuses
	return p.size
}

// Check reports a configuration no model can be built from.
func (c ModelConfig) Check() error {
	if _, ok := lookup(c.Preset); !ok {
		return fmt.Errorf("unknown preset %q; the presets are %v", c.Preset, Presets)
	}
	switch {
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
	case c.DNorm != NormBatch && c.DNorm != NormNone:
		return fmt.Errorf("unknown discriminator normalisation %d", int(c.DNorm))
	case (c.SN || c.DNorm != NormBatch) && !c.preset().family:
		return fmt.Errorf("spectral norm and a discriminator without batch norm (--sn, --d-norm none) are for the DCGAN family (dcgan32 to dcgan256), not %s; use --size or --preset dcgan64", c.Preset)
	case c.Classes < 0 || c.Classes == 1 || c.Classes > maxClasses:
		return fmt.Errorf("%d classes: a conditional model needs 2 to %d", c.Classes, maxClasses)
	case len(c.ClassNames) != 0 && len(c.ClassNames) != c.Classes:
		return fmt.Errorf("%d class names for %d classes", len(c.ClassNames), c.Classes)
	}
	return nil
}

// imageFloats is the floats of one image.
func (c ModelConfig) imageFloats() int { return c.Channels * c.Size() * c.Size() }

// generator is the preset's generator: z → image in [-1, 1].
func (c ModelConfig) generator() nn.Spec { p := c.preset(); return p.generator(c, p.size) }

// discriminator is the preset's discriminator: image → one logit.
func (c ModelConfig) discriminator() nn.Spec { p := c.preset(); return p.discriminator(c, p.size) }

// generatorEMA is the EMA generator (ema.go): the generator's layers under
// the state_dict prefix generator_ema, so it loads into the same
// nn.Sequential.
func (c ModelConfig) generatorEMA() nn.Spec { return c.generator().Renamed("generator_ema") }

// familyWidth is the channels a DCGAN of size n and width w has at side
// r: the paper's rule, halving as the side doubles, 8w at most (dcgan64's
// 4×4, and larger sizes' first layers).
func familyWidth(w, n, r int) int { return w * min(8, n/(2*r)) }

// dcganGenerator is the DCGAN family's generator (dcgan64: carpedm20's and
// the DCGAN paper's): dense to 4×4, then 5×5 stride-2 transposed convs
// doubling the side to the image, each but the last with batch norm and
// LeakyReLU; dcgan64's widths are 8gf, 4gf, 2gf and gf.
func dcganGenerator(c ModelConfig, n int) nn.Spec {
	leaky, tanh := layers.LeakyReLU(c.Leak), layers.Activation{Act: layers.Tanh}
	b := nn.NewBuilder("generator", c.Z, 1, 1)
	b.Conditional(c.Classes)
	b.Linear(4*4*familyWidth(c.GF, n, 4), false, layers.Activation{})
	b.Unflatten(familyWidth(c.GF, n, 4), 4, 4)
	b.BN(leaky)
	for r := 8; r < n; r *= 2 {
		b.ConvT(familyWidth(c.GF, n, r), 2, false, layers.Activation{})
		b.BN(leaky)
	}
	b.ConvT(c.Channels, 2, true, tanh)
	return b.Spec()
}

// dcganDiscriminator mirrors it: 5×5 stride-2 convs halving the side to
// 4×4 (dcgan64: df, 2df, 4df and 8df channels), batch norm after all but
// the first (or, with DNorm none, a bias), then one logit; with SN every
// conv and the dense layer spectrally normalised. A conditional model's
// generator has class-conditional batch norms and its discriminator a
// projection of the class onto the features the logit reads (StudioGAN's
// DCGAN with cBN and PD); its projection embedding is not spectrally
// normalised.
func dcganDiscriminator(c ModelConfig, n int) nn.Spec {
	leaky := layers.LeakyReLU(c.Leak)
	b := nn.NewBuilder("discriminator", c.Channels, n, n)
	b.SpectralNorm(c.SN)
	b.Conv(familyWidth(c.DF, n, n/2), 2, true, leaky)
	for r := n / 4; r >= 4; r /= 2 {
		if c.DNorm == NormNone {
			b.Conv(familyWidth(c.DF, n, r), 2, true, leaky)
			continue
		}
		b.Conv(familyWidth(c.DF, n, r), 2, false, layers.Activation{})
		b.BN(leaky)
	}
	b.Flatten()
	b.Linear(1, true, layers.Activation{})
	b.Project(c.Classes)
	return b.Spec()
}

// dcgan28Generator is the TF2 tutorial's: dense 7·7·256, then 128
// (stride 1), 64, and the image.
func dcgan28Generator(c ModelConfig, _ int) nn.Spec {
	leaky, tanh := layers.LeakyReLU(c.Leak), layers.Activation{Act: layers.Tanh}
	b := nn.NewBuilder("generator", c.Z, 1, 1)
	b.Conditional(c.Classes)
	b.Linear(7*7*4*c.GF, false, layers.Activation{})
	b.Unflatten(4*c.GF, 7, 7)
	b.BN(leaky)
	b.ConvT(2*c.GF, 1, false, layers.Activation{})
	b.BN(leaky)
	b.ConvT(c.GF, 2, false, layers.Activation{})
	b.BN(leaky)
	b.ConvT(c.Channels, 2, true, tanh)
	return b.Spec()
}

// dcgan28Discriminator is the tutorial's: two 5×5 stride-2 convs with
// dropout, then one logit.
func dcgan28Discriminator(c ModelConfig, _ int) nn.Spec {
	leaky := layers.LeakyReLU(c.Leak)
	b := nn.NewBuilder("discriminator", c.Channels, 28, 28)
	b.Conv(c.DF, 2, true, leaky)
	b.Drop(c.Dropout)
	b.Conv(2*c.DF, 2, true, leaky)
	b.Drop(c.Dropout)
	b.Flatten()
	b.Linear(1, true, layers.Activation{})
	b.Project(c.Classes)
	return b.Spec()
}

// Layer is one layer of a trained network as an exporter (gan/onnx)
// writes it.
type Layer = nn.Layer

// GeneratorLayers lists one of a run's generators layer by layer: with
// EMAWeights (or the default, for a run that keeps an EMA) the EMA
// generator, whose tensors are generator_ema.*.
func GeneratorLayers(cfg TrainConfig, w Weights) ([]Layer, error) {
	_, spec, err := w.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	return spec.Export(), nil
}
