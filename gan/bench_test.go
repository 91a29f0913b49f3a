package gan

import (
	"github.com/gan-vk/gan-vk/layers"
	"math"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/vk/vktest"
)

// TestStepFLOPs holds the formula to an independent count: pytorch/bench.py
// hooks every Linear, Conv2d and ConvTranspose2d of the PyTorch models,
// counts their multiply-adds from the shapes it sees, and prints 52.59 and
// 697.94 GFLOP per step for the presets at batch 64 (2 G updates, the
// generator's forward reused by the first, as here). By hand, the
// generator's forward alone is 6.62 and 82.00 GFLOP: dcgan28's layers are
// 64·(100·12544 + 256·49·128·25 + 128·49·64·25 + 64·196·25) multiply-adds,
// dcgan64's 64·(100·16384 + 3·(1024·16·512·25) + 128·1024·3·25).
func TestStepFLOPs(t *testing.T) {
	for _, c := range []struct {
		preset   string
		channels int
		gflop    float64 // the step, as pytorch/bench.py counts it
		gForward float64 // one generator forward, by hand
	}{
		{"dcgan28", 1, 52.59, 2 * 64 * float64(100*12544+256*49*128*25+128*49*64*25+64*196*25) / 1e9},
		{"dcgan64", 3, 697.94, 2 * 64 * float64(100*16384+3*(1024*16*512*25)+128*1024*3*25) / 1e9},
	} {
		m, err := DefaultModel(c.preset, c.channels)
		if err != nil {
			t.Fatal(err)
		}
		cfg := TrainConfig{Model: m, Batch: 64, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1}
		got := cfg.StepFLOPs() / 1e9
		if math.Abs(got-c.gflop) > 0.005 {
			t.Errorf("%s: %.3f GFLOP per step, PyTorch's count is %.2f", c.preset, got, c.gflop)
		}
		// One more G update adds a G forward, backward-data and filter
		// gradient (three times the forward) and D forward and
		// backward-data.
		more := cfg
		more.GSteps = 3
		gFwd := 0.0
		for _, l := range m.generator().Layers {
			gFwd += 2 * l.MACs(64) / 1e9
		}
		if math.Abs(gFwd-c.gForward) > 1e-9 {
			t.Errorf("%s: the generator's forward is %.4f GFLOP, by hand %.4f", c.preset, gFwd, c.gForward)
		}
		double := cfg
		double.Batch = 128
		if r := double.StepFLOPs() / cfg.StepFLOPs(); math.Abs(r-2) > 1e-12 {
			t.Errorf("%s: doubling the batch multiplies the FLOPs by %g", c.preset, r)
		}
		if more.StepFLOPs() <= cfg.StepFLOPs()+2*gFwd {
			t.Errorf("%s: a third G update adds only %g GFLOP", c.preset, more.StepFLOPs()/1e9-got)
		}
	}
}

// TestStepCounts holds what the counter derives from the step's recipes to
// the pass table in kernels.go and to PyTorch's num_batches_tracked (one
// per training-mode forward), for one to three G updates and one or two D
// updates a step.
func TestStepCounts(t *testing.T) {
	m, err := DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{1, 2} {
		for _, k := range []int{1, 2, 3} {
			c := TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: k, DSteps: d, Seed: 1}.counts()
			if c.bnForwards != [nets]int{d + k, 2*d + k} {
				t.Errorf("d-steps %d g-steps %d: batch norm forwards G, D = %v, want [%d %d]", d, k, c.bnForwards, d+k, 2*d+k)
			}
			want := [nets][2][3]int{
				{{d - 1 + k, 0, k}, {d - 1 + k, k, k}},           // generator: layer 0, and any later layer
				{{2*d + k, k, 2 * d}, {2*d + k, 2*d + k, 2 * d}}, // discriminator
			}
			for id := range nets {
				for i, got := range c.layers[id] {
					if w := want[id][min(i, 1)]; got != w {
						t.Errorf("d-steps %d g-steps %d: %s layer %d runs %v forward/data/filter passes, want %v", d, k, []string{"G", "D"}[id], i, got, w)
					}
				}
			}
		}
	}
}

// TestProfile profiles a small dcgan64, augmented and mirrored (it has
// every kind of layer but dropout) and checks that each command lands in a
// layer and a category.
func TestProfile(t *testing.T) {
	d := vktest.Open(t)
	if !d.Info().Timestamps {
		t.Skip("the device cannot write timestamps")
	}
	m, err := DefaultModel("dcgan64", 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Z, m.GF, m.DF = 8, 2, 2
	cfg := TrainConfig{Model: m, Batch: 2, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 5,
		Augment: layers.Color | layers.Translation | layers.Cutout, AugmentP: 1, Mirror: true}
	tr, err := NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.FillSynthetic(1); err != nil {
		t.Fatal(err)
	}
	p, err := tr.Profile(2)
	if err != nil {
		t.Fatal(err)
	}
	for c := range Categories {
		if p.Total.Time[c] <= 0 && c != Activations && c != Other {
			t.Errorf("no time in %s", c)
		}
	}
	if math.Abs(p.Total.FLOPs[Forward]+p.Total.FLOPs[BackwardData]+p.Total.FLOPs[BackwardFilter]-cfg.StepFLOPs()) > 1 {
		t.Errorf("the profile's FLOPs %v do not add up to StepFLOPs %g", p.Total.FLOPs, cfg.StepFLOPs())
	}
	names := map[string]bool{}
	var sum [Categories]float64
	for _, r := range p.Rows {
		names[r.Name] = true
		for c := range Categories {
			sum[c] += float64(r.Time[c])
		}
		if strings.Contains(r.Name, "batchnorm") && r.Time[BatchNorm] == 0 {
			t.Errorf("%s has no batch-norm time", r.Name)
		}
		if strings.Contains(r.Name, "conv") && (r.Time[Forward] == 0 || r.Time[BackwardData] == 0 || r.Time[BackwardFilter] == 0) {
			t.Errorf("%s lacks a GEMM pass: %v", r.Name, r.Time)
		}
	}
	for c := range Categories {
		if sum[c] != float64(p.Total.Time[c]) {
			t.Errorf("%s: the rows add up to %v, the total says %v", c, sum[c], p.Total.Time[c])
		}
	}
	for _, want := range []string{"G.0 dense 8→256", "G.13 convT 2→3 64×64", "D.0 conv 3→2 32×32", "D.12 dense 256→1", scopeLoss, scopeAdam, scopeSetup, scopeAugment} {
		if !names[want] {
			t.Errorf("no row %q in %v", want, names)
		}
	}
	dispatches, transfers, barriers, submits := tr.Commands()
	if dispatches == 0 || transfers == 0 || barriers == 0 || submits != 3 {
		t.Errorf("commands per step: %d dispatches, %d transfers, %d barriers, %d submits", dispatches, transfers, barriers, submits)
	}
	if cost, err := DispatchCost(d, 20, 2); err != nil || cost <= 0 {
		t.Errorf("DispatchCost: %v, %v", cost, err)
	}
}
