package score

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// The feature network that gan-vk scores images with: for
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
func (c FeatureConfig) spec() nn.Spec {
	leaky, none := layers.LeakyReLU(0.2), layers.Activation{}
	b := nn.NewBuilder("features", c.Channels, c.Size, c.Size)
	for _, k := range []int{32, 64, 128} {
		b.Conv(k, 2, false, none)
		b.BN(leaky)
	}
	b.Flatten()
	b.Linear(FeatureDim, true, leaky)
	if c.Classes > 0 {
		b.Linear(c.Classes, true, none)
	}
	return b.Spec()
}

// FeatureNet is a feature network on the device.
type FeatureNet struct {
	Config FeatureConfig
	p      *nn.Store
	train  *nn.Net // training mode: the classifier's, or the random network's calibration (batch-norm momentum 1)
	eval   *nn.Net // eval mode, for features
	adam   *nn.Adam
	loss   *layers.SoftmaxCrossEntropy
	clock  *layers.Clock

	x, labels, dLogit, stats *vk.Buffer
	step, forward, prepare   *vk.Sequence
	own                      *nn.Owner
}

// NewFeatureNet builds a feature network with weights drawn from the seed
// (He's normal initialisation; batch norm's γ 1 and β 0).
func NewFeatureNet(d *vk.Device, cfg FeatureConfig) (*FeatureNet, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	f := &FeatureNet{Config: cfg, own: nn.NewOwner(d)}
	if err := f.build(); err != nil {
		f.Close()
		return nil, fmt.Errorf("score: building the feature network: %w", err)
	}
	if err := f.init(rand.New(rand.NewSource(int64(cfg.Seed)))); err != nil {
		f.Close()
		return nil, fmt.Errorf("score: initialising the feature network: %w", err)
	}
	return f, nil
}

func (f *FeatureNet) build() error {
	cfg, n, o := f.Config, f.Config.Batch, f.own
	classifier := cfg.Classes > 0
	f.p = nn.NewStore(o, cfg.spec(), classifier)
	opt := nn.Options{Train: classifier}
	if !classifier {
		opt.BNMomentum = 1
	}
	f.train = nn.NewNet(o, f.p, n, opt)
	f.eval = nn.NewNet(o, f.p, n, nn.Options{})
	f.x = o.Buffer("feature images", n*cfg.Channels*cfg.Size*cfg.Size)
	f.forward = o.Sequence("features")
	f.prepare = o.Sequence("feature network calibration")
	if classifier {
		f.labels = o.Buffer("labels", n)
		f.dLogit = o.Buffer("∂loss/∂logits", n*cfg.Classes)
		f.stats = o.Buffer("classifier stats", 2)
		loss, err := layers.NewSoftmaxCrossEntropy(o.Device(), n, cfg.Classes)
		f.loss = nn.Keep(o, loss, err)
		f.clock = o.Clock("classifier", cfg.Seed)
		f.adam = nn.NewAdam(o, f.p, layers.AdamConfig{LR: 1e-3, Beta1: 0.9})
		f.step = o.Sequence("classifier step")
	}
	if err := o.Err(); err != nil {
		return err
	}
	f.eval.Forward(f.forward, f.x, nn.Eval)
	if !classifier {
		f.train.Forward(f.prepare, f.x, nn.Mode{Train: true}) // the batch's statistics become the running ones
		return nil
	}
	f.train.Prepare(f.prepare, nn.Loaded) // the weights rearranged, after they are written
	f.recordTraining()
	return nil
}

// recordTraining records the classifier's step: forward in training mode,
// softmax cross-entropy against the labels, backward, Adam.
func (f *FeatureNet) recordTraining() {
	s, train := f.step, nn.Mode{Train: true, Clock: f.clock}
	f.clock.Tick(s)
	f.p.ZeroGrads(s)
	f.train.Forward(s, f.x, train)
	f.loss.Forward(s, f.dLogit, f.stats, f.train.Out(), f.labels)
	f.train.Backward(s, f.x, f.dLogit, nil, train, nn.WeightGrads)
	f.adam.Update(s, f.clock)
	f.train.Prepare(s, nn.Updated)
}

// init draws the weights N(0, 2/fan-in), sets biases and β to 0, γ to 1,
// the running statistics to PyTorch's initial ones and Adam's moments to 0.
func (f *FeatureNet) init(r *rand.Rand) error {
	he := func(t *nn.Param) float32 {
		return float32(math.Sqrt(2/float64(t.Count()/t.Shape[0])) * r.NormFloat64())
	}
	if err := f.p.Fill(he, func() float32 { return 1 }); err != nil {
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
func (f *FeatureNet) Close() { f.own.Close() }

func (f *FeatureNet) upload(images []float32) error {
	c := f.Config
	if want := c.Batch * c.Channels * c.Size * c.Size; len(images) != want {
		return fmt.Errorf("score: feature network: a batch of %d floats, want %d", len(images), want)
	}
	return f.x.Upload(0, vk.Float32Bytes(images))
}

// Train runs one step of the classifier on a batch of images and their
// classes (each in [0, Classes)); it returns the batch's loss and accuracy
// before the step's update.
func (f *FeatureNet) Train(images []float32, labels []int32) (loss, accuracy float32, err error) {
	if f.Config.Classes == 0 {
		return 0, 0, fmt.Errorf("score: the random-weight feature network is not trained")
	}
	if len(labels) != f.Config.Batch {
		return 0, 0, fmt.Errorf("score: classifier: %d labels for a batch of %d", len(labels), f.Config.Batch)
	}
	raw := make([]byte, 4*len(labels))
	for i, l := range labels {
		if l < 0 || int(l) >= f.Config.Classes {
			return 0, 0, fmt.Errorf("score: classifier: label %d outside [0, %d)", l, f.Config.Classes)
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
		return 0, 0, fmt.Errorf("score: classifier step: %w", err)
	}
	v, err := nn.ReadFloats(f.stats, 2)
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
		return fmt.Errorf("score: a trained classifier's batch norms keep their running statistics")
	}
	c := f.Config
	batch := make([]float32, c.Batch*c.Channels*c.Size*c.Size)
	return f.p.AverageRunning(passes, func(int) error {
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
		return nil, nil, fmt.Errorf("score: features: %w", err)
	}
	n := f.Config.Batch
	last := len(f.p.Spec.Layers) - 1
	feat := last
	if f.Config.Classes > 0 {
		feat--
		if logits, err = nn.ReadFloats(f.eval.LayerOut(last), n*f.Config.Classes); err != nil {
			return nil, nil, err
		}
	}
	if features, err = nn.ReadFloats(f.eval.LayerOut(feat), n*FeatureDim); err != nil {
		return nil, nil, err
	}
	return features, logits, nil
}

// State reads the network's weights and running statistics (state_dict
// names under features.).
func (f *FeatureNet) State() ([]nn.Tensor, error) { return f.p.Read(false) }

// Load replaces the network's weights and running statistics with src's.
func (f *FeatureNet) Load(src nn.TensorSource) error {
	if err := f.p.Load(src, false); err != nil {
		return err
	}
	return f.weightsChanged()
}
