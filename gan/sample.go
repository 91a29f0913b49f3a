package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/vk"
)

// sampleStream is the Philox stream of sample z's, apart from training's.
const sampleStream = 1 << 16

// Sampler runs a generator's forward pass on its own z: in eval mode (batch
// norm with its running statistics), which leaves the training state alone,
// or with batch norm on the batch's own statistics (BatchStats), which moves
// the running statistics as training does.
type Sampler struct {
	N, Z    int
	C, S    int
	net     *nn.Net
	z       *nn.Latent
	draw    *vk.Sequence
	forward *vk.Sequence
	before  func() error // run before each forward: a trainer's EMA generator is calibrated
	own     *nn.Owner
}

// samplerOptions are how a sampler draws and normalises.
type samplerOptions struct {
	stream     int     // z's Philox stream (sampleStream unless set)
	batchStats bool    // batch norm on each batch's statistics, moving the running ones
	momentum   float32 // how far (0: PyTorch's 0.1)
}

func newSampler(d *vk.Device, g *nn.Store, m ModelConfig, n int, seed uint64, opt samplerOptions) (*Sampler, error) {
	s := &Sampler{N: n, Z: m.Z, C: m.Channels, S: m.Size(), own: nn.NewOwner(d)}
	o := s.own
	if opt.stream == 0 {
		opt.stream = sampleStream
	}
	s.net = nn.NewNet(o, g, n, nn.Options{BNMomentum: opt.momentum})
	s.z = nn.NewLatent(o, "sample z", n, m.Z, opt.stream, seed)
	s.draw = o.Sequence("sample z")
	s.forward = o.Sequence("sample")
	if err := o.Err(); err != nil {
		s.Close()
		return nil, fmt.Errorf("gan: sampler: %w", err)
	}
	s.z.Draw(s.draw)
	mode := nn.Eval
	if opt.batchStats {
		mode = nn.Mode{Train: true} // the generator has no dropout: no clock
	}
	s.net.Forward(s.forward, s.z.Z, mode)
	if err := s.Redraw(seed, 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("gan: sampler: %w", err)
	}
	return s, nil
}

// Close destroys the sampler's ops and buffers.
func (s *Sampler) Close() { s.own.Close() }

// Redraw draws the sampler's z from (seed, draw): the same pair gives the
// same z on any run.
func (s *Sampler) Redraw(seed uint64, draw uint32) error {
	if err := s.z.Set(seed, draw); err != nil {
		return err
	}
	return s.draw.Submit()
}

// Images runs the generator on the sampler's z and returns N images of
// C×S×S floats in [-1, 1], NCHW.
func (s *Sampler) Images() ([]float32, error) {
	if err := s.Run(); err != nil {
		return nil, err
	}
	return nn.ReadFloats(s.net.Out(), s.N*s.C*s.S*s.S)
}

// Run runs the generator on the sampler's z, leaving the images on the
// device (Output).
func (s *Sampler) Run() error {
	if s.before != nil {
		if err := s.before(); err != nil {
			return err
		}
	}
	return s.forward.Submit()
}

// Output is the buffer Run and Images write: N images of C×S×S floats.
func (s *Sampler) Output() *vk.Buffer { return s.net.Out() }

// ZValues reads the sampler's z: N rows of Z floats.
func (s *Sampler) ZValues() ([]float32, error) { return s.z.Values() }

// SetZ sets the sampler's z to N rows of Z floats.
func (s *Sampler) SetZ(z []float32) error {
	if len(z) != s.N*s.Z {
		return fmt.Errorf("gan: sampler: z has %d floats, want %d×%d", len(z), s.N, s.Z)
	}
	return s.z.Z.Upload(0, vk.Float32Bytes(z))
}

// NewSampler builds a sampler of n images over one of the trainer's
// generators: the raw one, or the EMA generator, whose batch norms are
// calibrated for its weights before each forward that follows a step.
func (t *Trainer) NewSampler(n int, w Weights) (*Sampler, error) {
	w, _, err := w.Resolve(t.Config)
	if err != nil {
		return nil, err
	}
	if w == RawWeights {
		return newSampler(t.dev, t.g, t.Config.Model, n, t.Config.Seed, samplerOptions{})
	}
	s, err := newSampler(t.dev, t.ema, t.Config.Model, n, t.Config.Seed, samplerOptions{})
	if err != nil {
		return nil, err
	}
	s.before = t.calibrateEMA
	return s, nil
}

// Generator is a trained generator on the device, for sampling.
type Generator struct {
	Config  TrainConfig
	Step    int
	Weights Weights
	p       *nn.Store
	own     *nn.Owner
}

// LoadGenerator puts one generator of a run configured cfg, at step, on
// the device: its parameters and running statistics from src.
func LoadGenerator(d *vk.Device, cfg TrainConfig, step int, w Weights, src TensorSource) (*Generator, error) {
	w, spec, err := w.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	g := &Generator{Config: cfg, Step: step, Weights: w, own: nn.NewOwner(d)}
	g.p = nn.NewStore(g.own, spec, false)
	err = g.own.Err()
	if err == nil {
		err = g.p.Load(src, false)
	}
	if err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// Close frees the generator's buffers.
func (g *Generator) Close() { g.own.Close() }

// NewSampler builds a sampler of n images over the generator; batchStats
// normalises with each batch's statistics instead of the running ones.
func (g *Generator) NewSampler(d *vk.Device, n int, seed uint64, batchStats bool) (*Sampler, error) {
	return newSampler(d, g.p, g.Config.Model, n, seed, samplerOptions{batchStats: batchStats})
}
