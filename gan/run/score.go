package run

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/score"
	"github.com/gan-vk/gan-vk/vk"
)

// DefaultScoreN is how many images a score during training draws from
// each generator unless Config.ScoreN says otherwise.
const DefaultScoreN = 2000

// scoreSeed seeds the z's a score during training draws: the same images
// at every step, so the curve shows the generator, not the draw.
const scoreSeed = 1

// scorer is the observer that scores the generators every ScoreEvery
// steps (and after the last): FD and KID of the EMA and the raw
// generator against the run's data, into the step's metrics line and
// event. It draws its own z's and runs between steps, so the training's
// bits do not depend on it.
type scorer struct {
	every, n int
	ref      *score.Reference
	samplers []*gan.Sampler // raw, then EMA when the run keeps one
	logf     func(string, ...any)
}

// newScorer opens the reference (building and caching its feature network
// the first time) and the samplers.
func (l *loop) newScorer(d *vk.Device) (*scorer, error) {
	r, cfg := l.r, l.r.Config
	n := cfg.ScoreN
	if n == 0 {
		n = DefaultScoreN
	}
	ds, err := data.Open(data.Options{Path: cfg.Data, Size: cfg.Train.Model.Size(), Crop: cfg.Crop, CacheDir: r.CacheDir,
		Channels: cfg.Train.Model.Channels, Labels: true, Log: l.logf})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	s := &scorer{every: cfg.ScoreEvery, n: n, logf: l.logf}
	if s.ref, err = score.OpenReference(d, ds, score.Options{CacheDir: r.ScoreCache, Log: l.logf}); err != nil {
		return nil, err
	}
	l.closers = append(l.closers, s.ref.Close)
	weights := []gan.Weights{gan.RawWeights}
	if l.t.HasEMA() {
		weights = append(weights, gan.EMAWeights)
	}
	for _, w := range weights {
		sm, err := l.t.NewSampler(min(n, 128), w)
		if err != nil {
			return nil, err
		}
		l.closers = append(l.closers, sm.Close)
		s.samplers = append(s.samplers, sm)
	}
	return s, nil
}

func (s *scorer) AfterStep(_ context.Context, st *StepDone) error {
	if st.Step%s.every != 0 && !st.Last {
		return nil
	}
	start := time.Now()
	var res [2]score.Result
	for i, sm := range s.samplers {
		var err error
		if res[i], err = s.ref.Sampled(sm, s.n, scoreSeed); err != nil {
			return fmt.Errorf("scoring step %d: %w", st.Step, err)
		}
	}
	m := &st.Metric
	m.FDRaw, m.KIDRaw = round3(res[0].FD), round6(res[0].KID)
	if len(s.samplers) > 1 {
		m.FD, m.KID = round3(res[1].FD), round6(res[1].KID)
	}
	m.ScoreSeconds = round3(time.Since(start).Seconds())
	st.Event.FD, st.Event.FDRaw = m.FD, m.FDRaw
	return nil
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
