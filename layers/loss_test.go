package layers_test

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// The softmax cross-entropy's loss, accuracy and gradient against the
// float64 reference, for batches one workgroup covers in one or several
// rounds, and logits large enough that exp would overflow without the
// row's maximum taken out.
func TestSoftmaxCrossEntropy(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		n, k  int
		scale float64
	}{{64, 10, 2}, {1, 2, 1}, {300, 10, 3}, {7, 47, 200}} {
		t.Run(fmt.Sprintf("batch %d classes %d scale %g", c.n, c.k, c.scale), func(t *testing.T) {
			l, err := layers.NewSoftmaxCrossEntropy(d, c.n, c.k)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			r := rand.New(rand.NewSource(5))
			logit := rnd(r, c.n*c.k, c.scale)
			labels := make([]int, c.n)
			raw := make([]byte, 4*c.n)
			for i := range labels {
				labels[i] = r.Intn(c.k)
				binary.LittleEndian.PutUint32(raw[4*i:], uint32(labels[i]))
			}
			bl, bdl, stats := upload(t, d, "logit", logit), alloc(t, d, "dlogit", c.n*c.k), alloc(t, d, "stats", 2)
			blab := alloc(t, d, "labels", c.n)
			if err := blab.Upload(0, raw); err != nil {
				t.Fatal(err)
			}
			run(t, d, func(s *vk.Sequence) { l.Forward(s, bdl, stats, bl, blab) })
			loss, dl, acc := ref.SoftmaxCrossEntropy(logit, labels, c.k)
			expect(t, "loss", stats, []float64{loss}, ref.Sum)
			if got := download(t, stats, 2)[1]; got != float64(float32(acc)) { // a count over n: exact in float32
				t.Errorf("accuracy %g, want %g", got, acc)
			}
			expect(t, "dlogit", bdl, dl, ref.Transcendental)
		})
	}
	if _, err := layers.NewSoftmaxCrossEntropy(d, 4, 1); err == nil {
		t.Error("one class: no error")
	}
}

// Replays of one recorded average are steps 1, 2, … of the ramped-up
// average, for a decay the ramp-up caps and one it does not reach.
func TestEMA(t *testing.T) {
	d := vktest.Open(t)
	const n = 1029
	for _, cfg := range []layers.EMAConfig{{Decay: 0.9, Rampup: 0.5}, {Decay: 0.999}} {
		t.Run(fmt.Sprintf("decay %g", cfg.Decay), func(t *testing.T) {
			e, err := layers.NewEMA(d, n, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			clock, err := layers.NewClock(d, "ema", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer clock.Close()
			r := rand.New(rand.NewSource(9))
			avg, param := rnd(r, n, 1), rnd(r, n, 1)
			ba, bp := upload(t, d, "avg", avg), upload(t, d, "param", param)
			s, err := d.NewSequence("ema step")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			clock.Tick(s)
			e.Update(s, ba, bp, clock)
			rampup := float64(float32(e.Config.Rampup))
			for step := 1; step <= 12; step++ {
				if err := s.Submit(); err != nil {
					t.Fatal(err)
				}
				ref.EMA(avg, param, step, float64(cfg.Decay), rampup)
			}
			expect(t, "avg", ba, avg, ref.Transcendental)
		})
	}
	if _, err := layers.NewEMA(d, 4, layers.EMAConfig{Decay: 1}); err == nil {
		t.Error("decay 1: no error")
	}
}
