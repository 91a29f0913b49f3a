package gan

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// download64 reads a buffer's first n floats as float64.
func download64(t testing.TB, b *vk.Buffer, n int) []float64 {
	t.Helper()
	v, err := nn.ReadFloats(b, n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, n)
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// refFrom copies a network's state from the device into a reference.
func refFrom(t testing.TB, p *nn.Store) *refNet {
	r := &refNet{spec: p.Spec}
	for i, l := range p.Spec.Layers {
		var vals, ms, vs [][]float64
		for _, ts := range p.Layers[i] {
			vals = append(vals, download64(t, ts.Val, ts.Count()))
			if ts.M != nil { // a trained network's
				ms = append(ms, download64(t, ts.M, ts.Count()))
				vs = append(vs, download64(t, ts.V, ts.Count()))
			}
		}
		r.p, r.m, r.v = append(r.p, vals), append(r.m, ms), append(r.v, vs)
		var rs []float64
		if p.Running[i] != nil {
			rs = download64(t, p.Running[i], 2*l.K)
		}
		r.running = append(r.running, rs)
		r.snU, r.snV, r.wsn, r.sigma = append(r.snU, nil), append(r.snV, nil), append(r.wsn, nil), append(r.sigma, 0)
		if sn := p.SN[i]; sn != nil {
			rows, cols := l.SNShape()
			r.snU[i], r.snV[i] = download64(t, sn.U, rows), download64(t, sn.V, cols)
			r.normalize(i, false)
		}
	}
	return r
}

// uploadReals fills each of the step's real batches (one per D update).
func uploadReals(t testing.TB, tr *Trainer, r *rand.Rand) [][]float64 {
	var out [][]float64
	for k := range tr.Config.DUpdates() {
		out = append(out, uploadTo(t, tr.RealBatch(k), r))
	}
	return out
}

// uploadReal fills the trainer's (first) real batch with values in [-1, 1].
func uploadReal(t testing.TB, tr *Trainer, r *rand.Rand) []float64 { return uploadTo(t, tr.Real(), r) }

func uploadTo(t testing.TB, b *vk.Buffer, r *rand.Rand) []float64 {
	n := b.Size() / 4
	f := make([]float32, n)
	v := make([]float64, n)
	for i := range f {
		f[i] = float32(2*r.Float64() - 1)
		v[i] = float64(f[i])
	}
	if err := b.Upload(0, vk.Float32Bytes(f)); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkNet holds a network's state on the device to the reference's.
func checkNet(t *testing.T, what string, p *nn.Store, r *refNet, tol ref.Tol) {
	t.Helper()
	for i, l := range p.Spec.Layers {
		for j, ts := range p.Layers[i] {
			if err := tol.Check(download64(t, ts.Val, ts.Count()), r.p[i][j]); err != nil {
				t.Errorf("%s: %s: %v", what, ts.Name, err)
			}
		}
		if p.Running[i] != nil {
			if err := tol.Check(download64(t, p.Running[i], 2*l.K), r.running[i]); err != nil {
				t.Errorf("%s: %s.%d running stats: %v", what, p.Spec.Name, l.Module, err)
			}
		}
		if sn := p.SN[i]; sn != nil {
			for _, v := range []struct {
				name string
				b    *vk.Buffer
				want []float64
			}{{"u", sn.U, r.snU[i]}, {"v", sn.V, r.snV[i]}, {"W/σ", sn.Weight, r.wsn[i]}} {
				if err := tol.Check(download64(t, v.b, len(v.want)), v.want); err != nil {
					t.Errorf("%s: %s.%d spectral norm's %s: %v", what, p.Spec.Name, l.Module, v.name, err)
				}
			}
		}
	}
}

// TestStepMatchesReference runs a few training steps of small versions of
// both presets on the device and in float64 from layers/ref, and holds the
// losses and every parameter and running statistic to the reference, the
// EMA generator's weights and its calibrated running statistics too; once
// with the device's own GEMMs and once with the plan the heuristic gives
// a GPU (an H200's limits: shared-memory tiles, storage loads, splits),
// on memory poisoned with NaNs where lavapipe would give zeros, as a GPU's
// fresh memory may hold anything.
func TestStepMatchesReference(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		preset    string
		ch, batch int
		gsteps    int
		gpu       bool
		augment   bool // every transform at p 0.7, and the mirror
		loss      layers.LossKind
	}{{"dcgan28", 1, 4, 2, false, false, layers.BCE}, {"dcgan64", 3, 2, 1, false, false, layers.BCE},
		{"dcgan28", 1, 4, 2, true, false, layers.BCE}, {"dcgan64", 3, 4, 2, false, true, layers.Hinge}} {
		name := c.preset
		if c.gpu {
			name += "/a GPU's plan, poisoned memory"
		}
		if c.augment {
			name += "/augmented and mirrored"
		}
		if c.loss != layers.BCE {
			name += "/" + c.loss.String()
		}
		t.Run(name, func(t *testing.T) {
			d := d
			if c.gpu {
				// Poisoning needs memory the host can write (lavapipe's);
				// a GPU's fresh memory holds what it holds.
				d = vktest.OpenWith(t, vk.Options{Validation: true, Poison: d.Info().Type == vk.TypeCPU})
			}
			m, err := DefaultModel(c.preset, c.ch)
			if err != nil {
				t.Fatal(err)
			}
			m.Z, m.GF, m.DF = 8, 2, 2
			cfg := TrainConfig{Model: m, Batch: c.batch, LR: 2e-4, Beta1: 0.5, GSteps: c.gsteps, Seed: 7, EMA: 0.9, Loss: c.loss}
			if c.loss == layers.Hinge { // and two time scales, as SNGAN trains
				cfg.LRD, cfg.LRG = 4e-4, 1e-4
			}
			if c.augment {
				cfg.Augment, cfg.AugmentP, cfg.Mirror = layers.Color|layers.Translation|layers.Cutout, 0.7, true
			}
			if c.gpu {
				cfg.Kernels = cfg.KernelPlan(vktest.H200(), nil)
				forms := map[string]bool{}
				for _, tile := range cfg.Kernels {
					if tile.Form != layers.Shared || tile.Loads != layers.Storage {
						t.Fatalf("the GPU plan has %v", tile)
					}
					forms[fmt.Sprintf("%d×%d of %d×%d split %v", tile.LX, tile.LY, tile.TM, tile.TN, tile.Split > 1)] = true
				}
				t.Logf("the GPU plan's tiles: %v", forms)
			}
			checkSteps(t, d, cfg, 3)
		})
	}
}

// TestFamilyStepMatchesReference holds a step of each other size of the
// DCGAN family (dcgan64 is TestStepMatchesReference's) to the reference,
// at the smallest widths; and two steps of a spectrally normalised
// discriminator (SNGAN's: hinge loss, two time scales; without batch norm
// two D updates a step, each on its own real batch), with batch norm and
// without, so that the second update's passes run on the weights of a
// power iteration after Adam.
func TestFamilyStepMatchesReference(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		preset string
		sn     bool
		norm   Norm
		steps  int
		dSteps int
	}{{"dcgan32", false, NormBatch, 1, 0}, {"dcgan128", false, NormBatch, 1, 0}, {"dcgan256", false, NormBatch, 1, 0},
		{"dcgan32", true, NormNone, 2, 2}, {"dcgan64", true, NormBatch, 2, 0}} {
		name := c.preset
		if c.sn {
			name += "/spectral norm, d-norm " + c.norm.String()
		}
		if c.dSteps > 1 {
			name += fmt.Sprintf(", %d D updates a step", c.dSteps)
		}
		t.Run(name, func(t *testing.T) {
			m, err := DefaultModel(c.preset, 1)
			if err != nil {
				t.Fatal(err)
			}
			m.Z, m.GF, m.DF, m.SN, m.DNorm = 8, 1, 1, c.sn, c.norm
			cfg := TrainConfig{Model: m, Batch: 2, LR: 2e-4, Beta1: 0.5, GSteps: 1, Seed: 7, DSteps: c.dSteps}
			if c.sn {
				cfg.Loss, cfg.LRD, cfg.LRG = layers.Hinge, 4e-4, 1e-4
			}
			checkSteps(t, d, cfg, c.steps)
		})
	}
}

// values lists a step's stats for a tolerance check.
func (s Stats) values() []float64 {
	return []float64{float64(s.DReal), float64(s.DFake), float64(s.G), float64(s.DX), float64(s.DGZ), float64(s.DGZAfter),
		float64(s.AugmentP), float64(s.RT)}
}

// checkSteps trains cfg for steps steps on the device and in float64, and
// holds the stats, both networks and the EMA generator with its calibrated
// running statistics (with one) to the reference.
func checkSteps(t *testing.T, d *vk.Device, cfg TrainConfig, steps int) {
	tr, err := NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rt := &refTrainer{cfg: cfg, g: refFrom(t, tr.g), d: refFrom(t, tr.d)}
	if tr.ema != nil {
		rt.ema = refFrom(t, tr.ema)
	}
	r := rand.New(rand.NewSource(1))
	for step := 1; step <= steps; step++ {
		reals := uploadReals(t, tr, r)
		got, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		want := rt.refStep(reals...)
		if err := ref.Sum.Check(got.values(), want.values()); err != nil {
			t.Errorf("step %d stats %+v, want %+v: %v", step, got, want, err)
		}
	}
	tol := ref.Tol{Name: fmt.Sprintf("%d steps", steps), Abs: 1e-5, Rel: 1e-4}
	checkNet(t, fmt.Sprintf("after %d steps", tr.Steps()), tr.g, rt.g, tol)
	checkNet(t, fmt.Sprintf("after %d steps", tr.Steps()), tr.d, rt.d, tol)
	if tr.ema == nil {
		return
	}
	if err := tr.calibrateEMA(); err != nil {
		t.Fatal(err)
	}
	rt.ema.running = rt.ema.calibrated(cfg.Model, cfg.Seed)
	checkNet(t, fmt.Sprintf("EMA after %d steps", tr.Steps()), tr.ema, rt.ema, tol)
}

// The EMA generator only reads the generator: a run with it trains the
// same bits as one without, so the raw generator of an EMA run is the run
// without EMA.
func TestEMALeavesTrainingAlone(t *testing.T) {
	d := vktest.Open(t)
	m, err := DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Z, m.GF, m.DF = 8, 2, 2
	states := map[float32]map[string][]float32{}
	for _, ema := range []float32{0, 0.999} {
		tr, err := NewTrainer(d, TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 7, EMA: ema})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(1))
		for range 3 {
			uploadReal(t, tr, r)
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
		st, err := tr.State()
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		states[ema] = map[string][]float32{}
		for _, s := range st {
			states[ema][s.Name] = s.F32
		}
	}
	for name, v := range states[0] {
		if w := states[0.999][name]; !slices.Equal(v, w) {
			t.Errorf("%s differs with the EMA generator", name)
		}
	}
	if len(states[0.999]) <= len(states[0]) {
		t.Errorf("the EMA run's state has %d tensors, the plain run's %d", len(states[0.999]), len(states[0]))
	}
}
