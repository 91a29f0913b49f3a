package gan

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// The feature network that gan-vk scores images with (gan/score): for
// labelled data a small classifier trained here, with these ops, on the
// reference data's classes (its penultimate layer gives the features, its
// softmax p(y|x)); for unlabelled data the same layers without the
// classifier's head, with fixed random weights drawn from a seed.

// FeatureDim is how many features the network gives each image.
const FeatureDim = 128

// FeatureConfig describes a feature network.
type FeatureConfig struct {
	Channels, Size int    // the images': C×Size×Size in [-1, 1]
	Classes        int    // the classifier's; 0 for the random-weight network
	Batch          int    // images per training or feature batch
	Seed           uint64 // of the initial (or fixed) weights
}

// Check reports a configuration no feature network can be built from.
func (c FeatureConfig) Check() error {
	switch {
	case c.Channels != 1 && c.Channels != 3:
		return fmt.Errorf("feature network: %d channels, want 1 or 3", c.Channels)
	case c.Size < 8 || c.Size > 256:
		return fmt.Errorf("feature network: images of %d×%d, want 8 to 256 pixels a side", c.Size, c.Size)
	case c.Classes == 1 || c.Classes < 0:
		return fmt.Errorf("feature network: %d classes, want 0 (unlabelled) or at least 2", c.Classes)
	case c.Batch < 1 || c.Batch > 4096:
		return fmt.Errorf("feature network: batch %d, want 1 to 4096", c.Batch)
	}
	return nil
}

// spec is three 5×5 stride-2 convolutions of 32, 64 and 128 channels, each
// with batch norm and LeakyReLU 0.2, a dense layer of FeatureDim with
// LeakyReLU (the features), and for a classifier a dense layer to the
// classes' logits.
func (c FeatureConfig) spec() netSpec {
	leaky, none := layers.LeakyReLU(0.2), layers.Activation{}
	b := &builder{net: netSpec{name: "features"}, c: c.Channels, h: c.Size, w: c.Size}
	for _, k := range []int{32, 64, 128} {
		b.conv(k, 2, false, none)
		b.bn(leaky)
	}
	b.flatten()
	b.linear(FeatureDim, true, leaky)
	if c.Classes > 0 {
		b.linear(c.Classes, true, none)
	}
	return b.net
}

// FeatureNet is a feature network on the device.
type FeatureNet struct {
	Config FeatureConfig
	p      *netParams
	train  *net // training mode: the classifier's, or the random network's calibration (batch-norm momentum 1)
	eval   *net // eval mode, for features
	adam   []*layers.Adam
	loss   *layers.SoftmaxCrossEntropy
	clock  *layers.Clock

	x, labels, dLogit, stats *vk.Buffer
	step, forward, prepare   *vk.Sequence
	owned                    []interface{ Close() }
}

// NewFeatureNet builds a feature network with weights drawn from the seed
// (He's normal initialisation; batch norm's γ 1 and β 0).
func NewFeatureNet(d *vk.Device, cfg FeatureConfig) (*FeatureNet, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	f := &FeatureNet{Config: cfg}
	if err := f.build(d); err != nil {
		f.Close()
		return nil, fmt.Errorf("gan: building the feature network: %w", err)
	}
	if err := f.init(rand.New(rand.NewSource(int64(cfg.Seed)))); err != nil {
		f.Close()
		return nil, fmt.Errorf("gan: initialising the feature network: %w", err)
	}
	return f, nil
}

func (f *FeatureNet) own(c interface{ Close() }) { f.owned = append(f.owned, c) }

func (f *FeatureNet) build(d *vk.Device) error {
	cfg, n := f.Config, f.Config.Batch
	classifier := cfg.Classes > 0
	var err error
	if f.p, err = newNetParams(d, cfg.spec(), classifier); err != nil {
		return err
	}
	f.own(f.p)
	opt := netOptions{train: classifier}
	if !classifier {
		opt.bnMomentum = 1
	}
	if f.train, err = newNet(d, f.p, n, opt); err != nil {
		return err
	}
	f.own(f.train)
	if f.eval, err = newNet(d, f.p, n, netOptions{}); err != nil {
		return err
	}
	f.own(f.eval)
	if f.x, err = d.NewBuffer("feature images", 4*n*cfg.Channels*cfg.Size*cfg.Size); err != nil {
		return err
	}
	f.own(f.x)
	if f.forward, err = d.NewSequence("features"); err != nil {
		return err
	}
	f.own(f.forward)
	f.eval.forward(f.forward, f.x, evalPass, nil)
	if f.prepare, err = d.NewSequence("feature network calibration"); err != nil {
		return err
	}
	f.own(f.prepare)
	if !classifier {
		f.train.forward(f.prepare, f.x, passReal, nil) // the batch's statistics become the running ones
		return nil
	}
	f.train.prepare(f.prepare) // the weights rearranged, after they are written
	return f.buildTraining(d)
}

// buildTraining records the classifier's step: forward in training mode,
// softmax cross-entropy against the labels, backward, Adam.
func (f *FeatureNet) buildTraining(d *vk.Device) error {
	cfg, n := f.Config, f.Config.Batch
	var err error
	for _, b := range []struct {
		dst    **vk.Buffer
		name   string
		floats int
	}{{&f.labels, "labels", n}, {&f.dLogit, "∂loss/∂logits", n * cfg.Classes}, {&f.stats, "classifier stats", 2}} {
		if *b.dst, err = d.NewBuffer(b.name, 4*b.floats); err != nil {
			return err
		}
		f.own(*b.dst)
	}
	if f.loss, err = layers.NewSoftmaxCrossEntropy(d, n, cfg.Classes); err != nil {
		return err
	}
	f.own(f.loss)
	if f.clock, err = layers.NewClock(d, "classifier", cfg.Seed); err != nil {
		return err
	}
	f.own(f.clock)
	for _, part := range f.p.parts {
		a, err := layers.NewAdam(d, part[0].Size()/4, layers.AdamConfig{LR: 1e-3, Beta1: 0.9})
		if err != nil {
			return err
		}
		f.own(a)
		f.adam = append(f.adam, a)
	}
	if f.step, err = d.NewSequence("classifier step"); err != nil {
		return err
	}
	f.own(f.step)
	s := f.step
	f.clock.Tick(s)
	f.p.zeroGrads(s)
	f.train.forward(s, f.x, passReal, f.clock)
	f.loss.Forward(s, f.dLogit, f.stats, f.train.out(), f.labels)
	f.train.backward(s, f.x, f.dLogit, nil, passReal, weightGrads, f.clock)
	for i, part := range f.p.parts {
		f.adam[i].Update(s, part[0], part[1], part[2], part[3], f.clock)
	}
	f.train.prepare(s)
	return nil
}

// init draws the weights N(0, 2/fan-in), sets biases and β to 0, γ to 1,
// the running statistics to PyTorch's initial ones and Adam's moments to 0.
func (f *FeatureNet) init(r *rand.Rand) error {
	he := func(t *tensor) float32 { return float32(math.Sqrt(2/float64(t.count()/t.shape[0])) * r.NormFloat64()) }
	if err := f.p.fill(he, func() float32 { return 1 }); err != nil {
		return err
	}
	return f.weightsChanged()
}

func (f *FeatureNet) weightsChanged() error {
	if f.Config.Classes == 0 {
		return nil // the prepare sequence is the calibration's forward
	}
	return f.prepare.Submit()
}

// Close destroys the network's ops and buffers.
func (f *FeatureNet) Close() {
	for i := len(f.owned) - 1; i >= 0; i-- {
		f.owned[i].Close()
	}
	f.owned = nil
}

func (f *FeatureNet) upload(images []float32) error {
	c := f.Config
	if want := c.Batch * c.Channels * c.Size * c.Size; len(images) != want {
		return fmt.Errorf("gan: feature network: a batch of %d floats, want %d", len(images), want)
	}
	return f.x.Upload(0, vk.Float32Bytes(images))
}

// Train runs one step of the classifier on a batch of images and their
// classes (each in [0, Classes)); it returns the batch's loss and accuracy
// before the step's update.
func (f *FeatureNet) Train(images []float32, labels []int32) (loss, accuracy float32, err error) {
	if f.Config.Classes == 0 {
		return 0, 0, fmt.Errorf("gan: the random-weight feature network is not trained")
	}
	if len(labels) != f.Config.Batch {
		return 0, 0, fmt.Errorf("gan: classifier: %d labels for a batch of %d", len(labels), f.Config.Batch)
	}
	raw := make([]byte, 4*len(labels))
	for i, l := range labels {
		if l < 0 || int(l) >= f.Config.Classes {
			return 0, 0, fmt.Errorf("gan: classifier: label %d outside [0, %d)", l, f.Config.Classes)
		}
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(l))
	}
	if err := f.upload(images); err != nil {
		return 0, 0, err
	}
	if err := f.labels.Upload(0, raw); err != nil {
		return 0, 0, err
	}
	if err := f.step.Submit(); err != nil {
		return 0, 0, fmt.Errorf("gan: classifier step: %w", err)
	}
	v, err := readFloats(f.stats, 2)
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// Calibrate sets the random-weight network's batch-norm running statistics
// to the mean of the batch statistics of passes batches that next fills
// (the reference data's), so its features are normalised on that data.
func (f *FeatureNet) Calibrate(passes int, next func(dst []float32) error) error {
	if f.Config.Classes > 0 {
		return fmt.Errorf("gan: a trained classifier's batch norms keep their running statistics")
	}
	c := f.Config
	batch := make([]float32, c.Batch*c.Channels*c.Size*c.Size)
	return averageRunning(f.p, passes, func(int) error {
		if err := next(batch); err != nil {
			return err
		}
		if err := f.upload(batch); err != nil {
			return err
		}
		return f.prepare.Submit()
	})
}

// Features runs the network in eval mode on a batch of images and returns
// each image's FeatureDim features and, for a classifier, its Classes
// logits.
func (f *FeatureNet) Features(images []float32) (features, logits []float32, err error) {
	if err := f.upload(images); err != nil {
		return nil, nil, err
	}
	if err := f.forward.Submit(); err != nil {
		return nil, nil, fmt.Errorf("gan: features: %w", err)
	}
	n := f.Config.Batch
	last := len(f.p.spec.layers) - 1
	feat := last
	if f.Config.Classes > 0 {
		feat--
		if logits, err = readFloats(f.eval.outs[last], n*f.Config.Classes); err != nil {
			return nil, nil, err
		}
	}
	if features, err = readFloats(f.eval.outs[feat], n*FeatureDim); err != nil {
		return nil, nil, err
	}
	return features, logits, nil
}

// State reads the network's weights and running statistics (state_dict
// names under features.).
func (f *FeatureNet) State() ([]Tensor, error) {
	var out []Tensor
	for _, st := range f.p.state(false) {
		v, err := readRange(st.buf, st.off, st.count)
		if err != nil {
			return nil, fmt.Errorf("gan: reading %s: %w", st.name, err)
		}
		if !finite(v) {
			return nil, fmt.Errorf("%w: the feature network's %s holds NaN or infinite values", ErrDiverged, st.name)
		}
		out = append(out, Tensor{Name: st.name, Shape: st.shape, F32: v})
	}
	return out, nil
}

// Load replaces the network's weights and running statistics with src's.
func (f *FeatureNet) Load(src TensorSource) error {
	if err := loadState(src, f.p.state(false)); err != nil {
		return err
	}
	return f.weightsChanged()
}
