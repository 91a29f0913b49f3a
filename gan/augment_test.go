package gan

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// ADA's rule: p moves once per interval, by batch·interval/500k, up when
// the interval's mean r_t is over 0.6 and down when under, within [0, 1].
func TestAdaptiveP(t *testing.T) {
	const batch = 64
	step := float32(batch*adaInterval) / adaImages
	a := adaptive{}
	var ps []float32
	for i, rt := range []float32{1, 1, 1, 1, 1, 1, 1, 0.7, 0, 0, 0, 0, 0, 0, 0, 0, 0.6, 0.6, 0.6, 0.6} {
		changed := a.observe(i+1, rt, batch)
		if changed != ((i+1)%adaInterval == 0 && i < 16) {
			t.Errorf("step %d: changed %v", i+1, changed)
		}
		ps = append(ps, a.p)
	}
	want := []float32{0, 0, 0, step, step, step, step, 2 * step, 2 * step, 2 * step, 2 * step, step, step, step, step, 0, 0, 0, 0, 0}
	if !slices.Equal(ps, want) {
		t.Errorf("p after each step %v, want %v", ps, want)
	}
	a = adaptive{p: 1 - step/2}
	for i := range adaInterval {
		a.observe(i+1, 1, batch)
	}
	if a.p != 1 {
		t.Errorf("p past 1: %g", a.p)
	}
}

// An adaptive augmentation's p and r_t sum are checkpoint state: a
// trainer restored from another's state takes the same next steps.
func TestAugmentStateRoundTrip(t *testing.T) {
	d := vktest.Open(t)
	m, err := DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Z, m.GF, m.DF = 8, 2, 2
	cfg := TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: 1, Seed: 3,
		Augment: layers.Color | layers.Translation | layers.Cutout, AugmentAuto: true}
	a, err := NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := rand.New(rand.NewSource(2))
	uploadReal(t, a, r)
	if _, err := a.Step(); err != nil {
		t.Fatal(err)
	}
	a.ada = adaptive{p: 0.375, rtSum: 1.25} // as if it had adapted for a while
	if err := a.aug.SetP(a.ada.p); err != nil {
		t.Fatal(err)
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Restore(a.Steps(), nn.Tensors(st)); err != nil {
		t.Fatal(err)
	}
	if b.ada != a.ada {
		t.Fatalf("restored augmentation state %+v, saved %+v", b.ada, a.ada)
	}
	for step := range 3 {
		seed := r.Int63()
		uploadReal(t, a, rand.New(rand.NewSource(seed)))
		uploadReal(t, b, rand.New(rand.NewSource(seed)))
		sa, err := a.Step()
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.Step()
		if err != nil {
			t.Fatal(err)
		}
		if sa != sb || sa.AugmentP != 0.375 {
			t.Errorf("step %d after the restore: %+v and %+v (p 0.375)", step+2, sa, sb)
		}
	}
}
