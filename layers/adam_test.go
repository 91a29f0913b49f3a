package layers_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// adamRig is one optimizer step recorded once: tick the clock, then update
// p from g with the moments m and v (starting at zero), all on the device.
type adamRig struct {
	step       *vk.Sequence
	p, g, m, v *vk.Buffer
}

func newAdamRig(t *testing.T, d *vk.Device, cfg layers.AdamConfig, p, g []float64) adamRig {
	t.Helper()
	n := len(p)
	a, err := layers.NewAdam(d, n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	clock, err := layers.NewClock(d, "adam", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clock.Close)
	r := adamRig{p: upload(t, d, "p", p), g: upload(t, d, "g", g), m: upload(t, d, "m", make([]float64, n)), v: upload(t, d, "v", make([]float64, n))}
	if r.step, err = d.NewSequence("adam step"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.step.Close)
	clock.Tick(r.step)
	a.Update(r.step, r.p, r.g, r.m, r.v, clock)
	return r
}

// Five replays of one recorded update are five Adam steps with the bias
// correction of steps 1…5.
func TestAdam(t *testing.T) {
	d := vktest.Open(t)
	const n = 4099
	cfg := layers.AdamConfig{LR: 2e-4, Beta1: 0.5}
	r := rand.New(rand.NewSource(6))
	p, g := rnd(r, n, 0.02), rnd(r, n, 1)
	m, v := make([]float64, n), make([]float64, n)
	rig := newAdamRig(t, d, cfg, p, g)
	for step := 1; step <= 5; step++ {
		if err := rig.step.Submit(); err != nil {
			t.Fatal(err)
		}
		ref.Adam(p, g, m, v, step, float64(cfg.LR), float64(cfg.Beta1), float64(float32(0.999)), float64(float32(1e-8)))
	}
	expect(t, "param", rig.p, p, ref.Pointwise)
	expect(t, "m", rig.m, m, ref.Pointwise)
	expect(t, "v", rig.v, v, ref.Pointwise)
}

// With Clamp, each replay is Adam's step and then the clamp: large steps
// push many parameters to the bounds, and the rest move as Adam moves them.
func TestAdamClamp(t *testing.T) {
	d := vktest.Open(t)
	const n, bound = 1031, 0.03
	cfg := layers.AdamConfig{LR: 0.01, Beta1: 0.9, Clamp: bound}
	r := rand.New(rand.NewSource(7))
	p, g := rnd(r, n, 0.02), rnd(r, n, 1)
	m, v := make([]float64, n), make([]float64, n)
	rig := newAdamRig(t, d, cfg, p, g)
	for step := 1; step <= 3; step++ {
		if err := rig.step.Submit(); err != nil {
			t.Fatal(err)
		}
		ref.Adam(p, g, m, v, step, float64(cfg.LR), float64(cfg.Beta1), float64(float32(0.999)), float64(float32(1e-8)))
		for i := range p {
			p[i] = math.Max(-float64(float32(bound)), math.Min(float64(float32(bound)), p[i]))
		}
	}
	clamped := 0
	for _, x := range p {
		if math.Abs(x) == float64(float32(bound)) {
			clamped++
		}
	}
	if clamped < n/4 || clamped == n {
		t.Fatalf("%d of %d parameters at the bounds: the test does not exercise the clamp", clamped, n)
	}
	expect(t, "param", rig.p, p, ref.Pointwise)
}
