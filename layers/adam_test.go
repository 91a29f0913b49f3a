package layers_test

import (
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// Five replays of one recorded update (tick, then Adam) are five Adam steps
// with the bias correction of steps 1…5.
func TestAdam(t *testing.T) {
	d := vktest.Open(t)
	const n = 4099
	cfg := layers.AdamConfig{LR: 2e-4, Beta1: 0.5}
	a, err := layers.NewAdam(d, n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clock, err := layers.NewClock(d, "adam", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	r := rand.New(rand.NewSource(6))
	p, g := rnd(r, n, 0.02), rnd(r, n, 1)
	m, v := make([]float64, n), make([]float64, n)
	bp, bg, bm, bv := upload(t, d, "p", p), upload(t, d, "g", g), upload(t, d, "m", m), upload(t, d, "v", v)
	s, err := d.NewSequence("adam step")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clock.Tick(s)
	a.Update(s, bp, bg, bm, bv, clock)
	for step := 1; step <= 5; step++ {
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
		ref.Adam(p, g, m, v, step, float64(cfg.LR), float64(cfg.Beta1), float64(float32(0.999)), float64(float32(1e-8)))
	}
	expect(t, "param", bp, p, ref.Pointwise)
	expect(t, "m", bm, m, ref.Pointwise)
	expect(t, "v", bv, v, ref.Pointwise)
}
