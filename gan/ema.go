package gan

import (
	"errors"
	"fmt"

	"github.com/gan-vk/gan-vk/gan/nn"
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

// Resolve is the generator w names in a run configured cfg, with its
// network; the EMA generator of a run that keeps none is an error that says
// what to use instead.
func (w Weights) Resolve(cfg TrainConfig) (Weights, nn.Spec, error) {
	switch w = w.For(cfg); {
	case w == RawWeights:
		return w, cfg.Model.generator(), nil
	case cfg.EMA == 0:
		return w, nn.Spec{}, ErrNoEMA
	}
	return w, cfg.Model.generatorEMA(), nil
}

// ErrNoEMA is a request for the EMA generator of a run that keeps none.
var ErrNoEMA = errors.New("this run keeps no EMA generator (it was trained with --ema 0); use --weights raw")

// emaRampup is the EMA's ramp-up: at generator update t its decay is
// min(TrainConfig.EMA, 0.5^(1/(0.05·t))), StyleGAN's ramp-up (a half-life
// of at most 5% of the images seen so far) with images counted in updates.
const emaRampup = 0.05

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
// weights: a sampler with batch norm on each batch's statistics and
// momentum 1, so the running statistics become the batch's, runs
// calibPasses times, each on z drawn from (seed, pass); the store averages
// the passes' (Store.AverageRunning). The result depends on the weights and
// the seed only.
type calibrator struct {
	p    *nn.Store
	seed uint64
	s    *Sampler
}

func newCalibrator(d *vk.Device, p *nn.Store, m ModelConfig, seed uint64) (*calibrator, error) {
	s, err := newSampler(d, p, m, calibBatch, seed, samplerOptions{stream: calibStream, batchStats: true, momentum: 1})
	if err != nil {
		return nil, fmt.Errorf("gan: the %s's batch-norm calibration: %w", p.Spec.Name, err)
	}
	return &calibrator{p: p, seed: seed, s: s}, nil
}

// Close destroys the calibration's sampler.
func (c *calibrator) Close() { c.s.Close() }

// run sets the running statistics to the mean of calibPasses batches'.
func (c *calibrator) run() error {
	err := c.p.AverageRunning(calibPasses, func(pass int) error {
		if err := c.s.Redraw(c.seed, uint32(pass)); err != nil {
			return err
		}
		return c.s.Run()
	})
	if err != nil {
		return fmt.Errorf("gan: calibrating the %s's batch norms: %w", c.p.Spec.Name, err)
	}
	return nil
}

// buildEMA gives a trainer configured with an EMA its average (values and
// running statistics), its move after each generator update, and its
// calibration.
func (t *Trainer) buildEMA() {
	cfg, o := t.Config, t.own
	t.ema = nn.NewStore(o, cfg.Model.generatorEMA(), false)
	t.emaAvg = nn.NewEMA(o, t.ema, t.g, layers.EMAConfig{Decay: cfg.EMA, Rampup: emaRampup})
	if o.Err() != nil {
		return
	}
	calib, err := newCalibrator(t.dev, t.ema, cfg.Model, cfg.Seed)
	t.calib = nn.Keep(o, calib, err)
}

// initEMA starts the average at the generator's initial weights.
func (t *Trainer) initEMA() error {
	if err := t.ema.CopyValues(t.g); err != nil {
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
