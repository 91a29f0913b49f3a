package gan

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"

	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// TestCompleterMatchesReference runs a few steps of the search for z on
// small versions of both presets (dcgan28's discriminator has dropout,
// dcgan64's batch norm) and holds the losses and z to a float64 reference
// composed from layers/ref: eval-mode G and D, their input gradients (∂loss/∂z
// is checked itself: Adam's step hides a small part of it), the completion
// loss and Adam with its clamp. The starting z is sample's.
func TestCompleterMatchesReference(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		preset string
		ch     int
	}{{"dcgan28", 1}, {"dcgan64", 3}} {
		t.Run(c.preset, func(t *testing.T) {
			m, err := DefaultModel(c.preset, c.ch)
			if err != nil {
				t.Fatal(err)
			}
			m.Z, m.GF, m.DF = 8, 2, 2
			cfg := TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: 1, Seed: 7}
			tr, err := NewTrainer(d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			// Running statistics away from 0 and 1, so eval mode's use of them shows.
			for _, p := range []*nn.Store{tr.g, tr.d} {
				for i, l := range p.Spec.Layers {
					if p.Running[i] != nil {
						rs := make([]float32, 2*l.K)
						for j := range rs {
							rs[j] = 0.1*float32(j%5) + float32(j/l.K)*(0.5+0.2*float32(j%3))
						}
						if err := p.Running[i].Upload(0, vk.Float32Bytes(rs)); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			state, err := tr.State()
			if err != nil {
				t.Fatal(err)
			}
			o := CompleteConfig{N: 3, Lambda: 30, LR: 0.05, Beta1: 0.9, Clamp: 0.8, Seed: 5}
			comp, err := NewCompleter(d, cfg, RawWeights, nn.Tensors(state), o)
			if err != nil {
				t.Fatal(err)
			}
			defer comp.Close()
			s, err := newSampler(d, tr.g, m, o.N, o.Seed, samplerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			z0, _ := s.ZValues()
			if got, _ := comp.ZValues(); !slices.Equal(got, z0) {
				t.Fatalf("the starting z is not gan-vk sample's for seed %d", o.Seed)
			}

			r := rand.New(rand.NewSource(3))
			px := o.N * m.Channels * m.Size() * m.Size()
			target, weight := make([]float32, px), make([]float32, px)
			for i := range target {
				target[i] = float32(2*r.Float64() - 1)
				if i%(px/o.N) >= px/o.N/4 { // a quarter of each image is the hole
					weight[i] = float32(0.01 * (0.5 + r.Float64())) // small, so the perceptual loss has its share of the gradient
				}
			}
			if err := comp.SetTarget(target, weight); err != nil {
				t.Fatal(err)
			}
			g, dis := refFrom(t, tr.g), refFrom(t, tr.d)
			z, mom, vel := f64(z0), make([]float64, len(z0)), make([]float64, len(z0))
			y, w := f64(target), f64(weight)
			lambda := float64(float32(o.Lambda))
			for step := 1; step <= 3; step++ {
				gt := g.forward(z, o.N, false, nil)
				images := gt.outs[len(gt.outs)-1]
				dt := dis.forward(images, o.N, false, nil)
				loss, dctx, dlogit := ref.CompletionLoss(images, y, w, dt.outs[len(dt.outs)-1], o.N, px/o.N, lambda)
				dd, _ := dis.backward(dt, dlogit)
				for i := range dctx {
					dctx[i] += dd[i]
				}
				dz, _ := g.backward(gt, dctx)
				if step == 1 {
					res, err := comp.Result()
					if err != nil {
						t.Fatal(err)
					}
					got := make([]float64, 0, 2*o.N)
					for i := 0; i < o.N; i++ {
						got = append(got, float64(res.Contextual[i]), float64(res.Perceptual[i]))
					}
					if err := ref.Sum.Check(got, loss); err != nil {
						t.Errorf("the losses at the starting z: %v", err)
					}
				}
				ref.Adam(z, dz, mom, vel, step, float64(float32(o.LR)), float64(float32(o.Beta1)), float64(float32(0.999)), float64(float32(1e-8)))
				for i := range z {
					z[i] = math.Max(-float64(float32(o.Clamp)), math.Min(float64(float32(o.Clamp)), z[i]))
				}
				if err := comp.Step(1); err != nil {
					t.Fatal(err)
				}
				if err := ref.Sum.Check(download64(t, comp.dz, len(dz)), dz); err != nil {
					t.Errorf("∂loss/∂z at step %d: %v", step, err)
				}
				got, _ := comp.ZValues()
				if err := ref.Sum.Check(f64(got), z); err != nil {
					t.Errorf("z after step %d: %v", step, err)
				}
			}
		})
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
