package gan

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// FillSynthetic fills the real batch with uniform noise in [-1, 1), for
// benchmarks that train on no data set.
func (t *Trainer) FillSynthetic(seed int64) error {
	r := rand.New(rand.NewSource(seed))
	for _, b := range t.reals {
		v := make([]float32, b.Size()/4)
		for i := range v {
			v[i] = 2*r.Float32() - 1
		}
		if err := b.Upload(0, vk.Float32Bytes(v)); err != nil {
			return fmt.Errorf("gan: the synthetic batch: %w", err)
		}
	}
	return nil
}

// DispatchCost measures the device's fixed cost of one dispatch inside a
// command buffer: a sequence of n tiny dependent dispatches (the clock's
// one-invocation tick, each waiting on the last), timed with timestamps,
// the median of runs.
func DispatchCost(d *vk.Device, n, runs int) (time.Duration, error) {
	if !d.Info().Timestamps {
		return 0, fmt.Errorf("gan: %s cannot write timestamps", d.Info().Name)
	}
	c, err := layers.NewClock(d, "dispatch cost", 0)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s, err := d.NewSequence("dispatch cost")
	if err != nil {
		return 0, err
	}
	defer s.Close()
	s.Timestamp("start")
	for range n {
		c.Tick(s)
	}
	s.Timestamp("end")
	var per []time.Duration
	for r := 0; r <= runs; r++ { // the first run warms up
		if err := s.Submit(); err != nil {
			return 0, err
		}
		st, err := s.Timestamps()
		if err != nil {
			return 0, err
		}
		if r > 0 {
			per = append(per, st[1].At/time.Duration(n))
		}
	}
	return median(per), nil
}
