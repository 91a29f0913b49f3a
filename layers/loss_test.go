package layers_test

import (
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
			for i := range labels {
				labels[i] = r.Intn(c.k)
			}
			bl, bdl, stats := upload(t, d, "logit", logit), alloc(t, d, "dlogit", c.n*c.k), alloc(t, d, "stats", 2)
			blab := uploadLabels(t, d, labels)
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

// The completion loss's two kernels against the reference: per-image
// contextual and perceptual losses, the gradient at the logits, and the
// whole gradient at x (dd plus the contextual one), with a hole of zero
// weight and logits large enough to test softplus's range.
func TestCompletionLoss(t *testing.T) {
	d := vktest.Open(t)
	const b, p, lambda = 5, 3 * 64 * 64, 0.1
	r := rand.New(rand.NewSource(9))
	x, y, w, dd := rnd(r, b*p, 1), rnd(r, b*p, 1), make([]float64, b*p), rnd(r, b*p, 0.01)
	for i := range w {
		if i%p > p/3 { // the first third of each image is the hole
			w[i] = 0.5 + float64(i%7)/7
		}
	}
	logit := []float64{-40, -2, 0, 3, 60}
	l, err := layers.NewCompletionLoss(d, b, p, lambda)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bx, by, bw, bdd, blogit := upload(t, d, "x", x), upload(t, d, "y", y), upload(t, d, "w", w), upload(t, d, "dd", dd), upload(t, d, "logit", logit)
	bdx, bdl, bloss := alloc(t, d, "dx", b*p), alloc(t, d, "dlogit", b), alloc(t, d, "loss", 2*b)
	run(t, d, func(s *vk.Sequence) {
		l.Perceptual(s, bdl, bloss, blogit)
		l.Contextual(s, bdx, bloss, bx, by, bw, bdd)
	})
	loss, dx, dl := ref.CompletionLoss(x, y, w, logit, b, p, float64(float32(lambda)))
	for i := range dx {
		dx[i] += dd[i]
	}
	expect(t, "loss", bloss, loss, ref.Sum)
	expect(t, "dlogit", bdl, dl, ref.Pointwise)
	expect(t, "dx", bdx, dx, ref.Pointwise)
	if _, err := layers.NewCompletionLoss(d, 0, p, lambda); err == nil {
		t.Error("no images: no error")
	}
}
