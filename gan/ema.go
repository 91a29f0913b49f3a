package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// The EMA generator: an exponential moving average of the generator's
// weights (TrainConfig.EMA), moved on the device after every generator
// update (one dispatch per piece of the parameter store), whose samples
// are better than the raw generator's. Its batch norms' running statistics
// are not an average: the raw generator's belong to the raw weights, so
// before the EMA generator is sampled or saved they are recomputed for its
// own weights (calibrator).

// Weights names which of a run's generators samples: the one Adam trains
// or the moving average of its weights.
type Weights int

const (
	DefaultWeights Weights = iota // the EMA generator when the run keeps one, else the raw one
	RawWeights                    // the generator Adam trains
	EMAWeights                    // the exponential moving average of its weights
)

func (w Weights) String() string {
	switch w {
	case RawWeights:
		return "raw"
	case EMAWeights:
		return "ema"
	}
	return "default"
}

// ParseWeights reads "raw" or "ema".
func ParseWeights(s string) (Weights, error) {
	switch s {
	case "raw":
		return RawWeights, nil
	case "ema":
		return EMAWeights, nil
	}
	return 0, fmt.Errorf("weights %q: want raw or ema", s)
}

// For is the generator w names in a run configured cfg.
func (w Weights) For(cfg TrainConfig) Weights {
	if w != DefaultWeights {
		return w
	}
	if cfg.EMA > 0 {
		return EMAWeights
	}
	return RawWeights
}

// emaRampup is the EMA's ramp-up: at generator update t its decay is
// min(TrainConfig.EMA, 0.5^(1/(0.05·t))), StyleGAN's ramp-up (a half-life
// of at most 5% of the images seen so far) with images counted in updates.
const emaRampup = 0.05

// generatorEMA is the EMA generator: the generator's layers under the
// state_dict prefix generator_ema, so it loads into the same nn.Sequential.
func (c ModelConfig) generatorEMA() netSpec {
	s := c.generator()
	s.name = "generator_ema"
	return s
}

// The calibration runs calibPasses training-mode forwards of calibBatch
// fresh z's each, from a stream of their own, and averages the batch
// statistics: 256 samples, as many as the trainer's sample grids hold
// four times over.
const (
	calibBatch  = 64
	calibPasses = 4
	calibStream = sampleStream + 1
)

// calibrator recomputes a generator's batch-norm running statistics for its
// weights: each pass draws z (seed, pass) and runs the generator in
// training mode with momentum 1, so the running statistics become the
// batch's; the passes' are averaged on the host. The result depends on the
// weights and the seed only.
type calibrator struct {
	p     *netParams
	seed  uint64
	net   *net
	z     *vk.Buffer
	clock *layers.Clock
	pass  *vk.Sequence
	owned []interface{ Close() }
}

func newCalibrator(d *vk.Device, p *netParams, m ModelConfig, seed uint64) (*calibrator, error) {
	c := &calibrator{p: p, seed: seed}
	fail := func(err error) (*calibrator, error) {
		c.Close()
		return nil, fmt.Errorf("gan: the %s's batch-norm calibration: %w", p.spec.name, err)
	}
	var err error
	if c.net, err = newNet(d, p, calibBatch, netOptions{bnMomentum: 1}); err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, c.net)
	if c.z, err = d.NewBuffer("calibration z", 4*calibBatch*m.Z); err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, c.z)
	normal, err := layers.NewNormal(d, calibBatch*m.Z, calibStream)
	if err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, normal)
	if c.clock, err = layers.NewClock(d, "calibration", seed); err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, c.clock)
	if c.pass, err = d.NewSequence("batch-norm calibration"); err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, c.pass)
	normal.Draw(c.pass, c.z, c.clock)
	c.net.forward(c.pass, c.z, passZ, nil)
	return c, nil
}

// Close destroys the calibration's ops and buffers.
func (c *calibrator) Close() {
	for i := len(c.owned) - 1; i >= 0; i-- {
		c.owned[i].Close()
	}
	c.owned = nil
}

// run sets the running statistics to the mean of calibPasses batches'.
func (c *calibrator) run() error {
	err := averageRunning(c.p, calibPasses, func(pass int) error {
		if err := c.clock.Set(c.seed, uint32(pass)); err != nil {
			return err
		}
		return c.pass.Submit()
	})
	if err != nil {
		return fmt.Errorf("gan: calibrating the %s's batch norms: %w", c.p.spec.name, err)
	}
	return nil
}

// averageRunning sets p's batch-norm running statistics to their mean over
// passes runs of pass, each a training-mode forward with momentum 1 (which
// leaves its batch's statistics in them), summed in float64 on the host.
func averageRunning(p *netParams, passes int, pass func(k int) error) error {
	sums := make([][]float64, len(p.running))
	for k := range passes {
		if err := pass(k); err != nil {
			return err
		}
		for i, rs := range p.running {
			if rs == nil {
				continue
			}
			v, err := readFloats(rs, rs.Size()/4)
			if err != nil {
				return err
			}
			if sums[i] == nil {
				sums[i] = make([]float64, len(v))
			}
			for j, x := range v {
				sums[i][j] += float64(x)
			}
		}
	}
	for i, rs := range p.running {
		if rs == nil {
			continue
		}
		v := make([]float32, len(sums[i]))
		for j, s := range sums[i] {
			v[j] = float32(s / float64(passes))
		}
		if err := rs.Upload(0, vk.Float32Bytes(v)); err != nil {
			return err
		}
	}
	return nil
}

// buildEMA gives a trainer configured with an EMA its average (values and
// running statistics), the update of each piece of its store, and its
// calibration.
func (t *Trainer) buildEMA() error {
	cfg, d := t.Config, t.dev
	var err error
	if t.ema, err = newNetParams(d, cfg.Model.generatorEMA(), false); err != nil {
		return err
	}
	t.own(t.ema)
	for _, part := range t.ema.parts {
		e, err := layers.NewEMA(d, part[0].Size()/4, layers.EMAConfig{Decay: cfg.EMA, Rampup: emaRampup})
		if err != nil {
			return err
		}
		t.own(e)
		t.emaOps = append(t.emaOps, e)
	}
	if t.calib, err = newCalibrator(d, t.ema, cfg.Model, cfg.Seed); err != nil {
		return err
	}
	t.own(t.calib)
	return nil
}

// initEMA starts the average at the generator's initial weights.
func (t *Trainer) initEMA() error {
	v, err := readFloats(t.g.val, t.g.floats)
	if err == nil {
		err = t.ema.val.Upload(0, vk.Float32Bytes(v))
	}
	if err == nil {
		err = t.ema.resetRunning()
	}
	if err != nil {
		return fmt.Errorf("gan: starting the EMA generator: %w", err)
	}
	t.emaCalibrated = false
	return nil
}

// calibrateEMA recomputes the EMA generator's running statistics if its
// weights moved since they were last computed.
func (t *Trainer) calibrateEMA() error {
	if t.ema == nil || t.emaCalibrated {
		return nil
	}
	if err := t.calib.run(); err != nil {
		return err
	}
	t.emaCalibrated = true
	return nil
}

// HasEMA reports whether the trainer keeps an EMA generator.
func (t *Trainer) HasEMA() bool { return t.ema != nil }
