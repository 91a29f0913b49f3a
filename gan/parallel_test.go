package gan

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/mpi"
	"github.com/gan-vk/gan-vk/mpi/mpitest"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// parallelSteps is how many steps TestParallelStep's ranks train.
const parallelSteps = 3

// parallelCases are the runs TestParallelStep trains on 2 ranks: each
// preset, dcgan28 with its dropout and two generator updates a step,
// dcgan64 augmented and mirrored (each rank draws its rows of the global
// batch's augmentation).
var parallelCases = []struct {
	preset        string
	ch, batch, gs int
	augment       bool
}{{"dcgan28", 1, 8, 2, false}, {"dcgan64", 3, 4, 1, true}}

// parallelConfig is a parallelCases run's configuration, with an EMA
// generator of decay ema (0: none).
func parallelConfig(t *testing.T, preset string, ch, batch, gs int, ema float32) TrainConfig {
	t.Helper()
	m, err := DefaultModel(preset, ch)
	if err != nil {
		t.Fatal(err)
	}
	m.Z, m.GF, m.DF = 8, 2, 2
	return TrainConfig{Model: m, Batch: batch, LR: 2e-4, Beta1: 0.5, GSteps: gs, Seed: 7, EMA: ema}
}

// TestParallelStep trains small versions of both presets on 2 ranks under
// mpirun (TestParallelRank does each rank's work) and holds the ranks'
// whole state after each step to be the same bits: parameters, Adam's
// moments, running statistics and the EMA generator; and after one bit of
// rank 1's is changed, to be rank 0's again once shared.
func TestParallelStep(t *testing.T) {
	if mpitest.Child() {
		t.Skip("a rank of TestParallelStep's run")
	}
	dir := t.TempDir()
	mpitest.Run(t, 2, "^TestParallelRank$", "GAN_VK_PARALLEL_DIR="+dir)
	for _, c := range parallelCases {
		var prev []byte
		for step := 1; step <= parallelSteps; step++ {
			var states [2][]byte
			for rank := range states {
				b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-rank%d-step%d", c.preset, rank, step)))
				if err != nil {
					t.Fatal(err)
				}
				states[rank] = b
			}
			if len(states[0]) == 0 || !bytes.Equal(states[0], states[1]) {
				t.Errorf("%s: after step %d the ranks' states differ (%d and %d bytes)", c.preset, step, len(states[0]), len(states[1]))
			}
			if bytes.Equal(states[0], prev) {
				t.Errorf("%s: step %d did not change the state", c.preset, step)
			}
			prev = states[0]
		}
		var shared [2][]byte
		for rank := range shared {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-rank%d-shared", c.preset, rank)))
			if err != nil {
				t.Fatal(err)
			}
			shared[rank] = b
		}
		if !bytes.Equal(shared[0], shared[1]) || !bytes.Equal(shared[0], prev) {
			t.Errorf("%s: after rank 1 drifted and ShareState, the ranks' states differ, or differ from rank 0's before", c.preset)
		}
	}
}

// writeState writes the trainer's replicated state into
// GAN_VK_PARALLEL_DIR for TestParallelStep to compare.
func writeState(t *testing.T, tr *Trainer, name string) {
	t.Helper()
	var state []byte
	for _, b := range tr.replicated() {
		v := make([]byte, b.Size())
		if err := b.Download(0, v); err != nil {
			t.Fatal(err)
		}
		state = append(state, v...)
	}
	if err := os.WriteFile(filepath.Join(os.Getenv("GAN_VK_PARALLEL_DIR"), name), state, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParallelRank is one rank of TestParallelStep's run. It writes its
// state after each step for the parent to compare, and rank 0 holds the
// step to the float64 reference of the data-parallel step: each rank's
// rows with its own batch statistics, gradients averaged before Adam,
// running statistics and losses after the step.
func TestParallelRank(t *testing.T) {
	if !mpitest.Child() {
		t.Skip("runs under mpirun, started by TestParallelStep")
	}
	w, err := mpi.Init()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := vktest.Open(t)
	for _, c := range parallelCases {
		cfg := parallelConfig(t, c.preset, c.ch, c.batch, c.gs, 0.9)
		if c.augment {
			cfg.Augment, cfg.AugmentP, cfg.Mirror = layers.Color|layers.Translation|layers.Cutout, 0.5, true
		}
		m := cfg.Model
		tr, err := NewParallelTrainer(d, cfg, Ranks{Rank: w.Rank, Size: w.Size, Sum: w.SumFloat32})
		if err != nil {
			t.Fatal(err)
		}
		rt := &refTrainer{cfg: cfg, g: refFrom(t, tr.g), d: refFrom(t, tr.d), ema: refFrom(t, tr.ema)}
		r := rand.New(rand.NewSource(1))
		image := m.Channels * m.Size() * m.Size()
		lo, hi := tr.Rows()
		for step := 1; step <= parallelSteps; step++ {
			real := make([]float32, c.batch*image) // the global batch, the same on every rank
			real64 := make([]float64, len(real))
			for i := range real {
				real[i] = float32(2*r.Float64() - 1)
				real64[i] = float64(real[i])
			}
			if err := tr.Real().Upload(0, vk.Float32Bytes(real[lo*image:hi*image])); err != nil {
				t.Fatal(err)
			}
			got, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			writeState(t, tr, fmt.Sprintf("%s-rank%d-step%d", c.preset, w.Rank, step))
			if w.Rank != 0 {
				continue
			}
			want := rt.refParallelStep([][]float64{real64}, w.Size)
			if err := ref.Sum.Check(got.values(), want.values()); err != nil {
				t.Errorf("%s: step %d stats %+v, want %+v: %v", c.preset, step, got, want, err)
			}
		}
		// A rank whose bits drifted (as a device of another kind would
		// round) has another fingerprint, and ShareState gives it rank 0's.
		same := func() bool {
			fp, err := tr.Fingerprint()
			if err != nil {
				t.Fatal(err)
			}
			v := []int32{int32(fp >> 16), -int32(fp >> 16), int32(fp & 0xffff), -int32(fp & 0xffff)}
			if err := w.MaxInt32(v); err != nil {
				t.Fatal(err)
			}
			return v[0] == -v[1] && v[2] == -v[3]
		}
		if !same() {
			t.Errorf("%s: the ranks' fingerprints differ after %d steps", c.preset, tr.Steps())
		}
		if w.Rank == 1 {
			v, err := nn.ReadFloats(tr.g.Val, 1)
			if err != nil {
				t.Fatal(err)
			}
			v[0] = math.Nextafter32(v[0], 1)
			if err := tr.g.Val.Upload(0, vk.Float32Bytes(v)); err != nil {
				t.Fatal(err)
			}
		}
		if same() {
			t.Errorf("%s: one bit of rank 1's generator changed, and the fingerprints are the same", c.preset)
		}
		if err := tr.ShareState(func(b []byte) error { return w.BcastBytes(b, 0) }); err != nil {
			t.Fatal(err)
		}
		if !same() {
			t.Errorf("%s: after ShareState the fingerprints differ", c.preset)
		}
		writeState(t, tr, fmt.Sprintf("%s-rank%d-shared", c.preset, w.Rank))
		if w.Rank == 0 {
			tol := ref.Tol{Name: "three data-parallel steps", Abs: 1e-5, Rel: 1e-4}
			checkNet(t, fmt.Sprintf("%s after %d steps", c.preset, tr.Steps()), tr.g, rt.g, tol)
			checkNet(t, fmt.Sprintf("%s after %d steps", c.preset, tr.Steps()), tr.d, rt.d, tol)
			checkNet(t, fmt.Sprintf("%s EMA weights after %d steps", c.preset, tr.Steps()), tr.ema, rt.ema, tol)
		}
		tr.Close()
	}
}

// AllreduceFloats counts what the trainer's Sums carry, less the padding
// between tensors.
func TestAllreduceFloats(t *testing.T) {
	if mpitest.Child() {
		t.Skip("a rank of TestParallelStep's run")
	}
	d := vktest.Open(t)
	for _, c := range parallelCases {
		cfg := parallelConfig(t, c.preset, c.ch, c.batch, c.gs, 0)
		tr, err := NewTrainer(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		unpadded := func(p *nn.Store) (n int) {
			for _, ts := range p.All {
				n += ts.Count()
			}
			return n
		}
		running := func(p *nn.Store) (n int) {
			for i, rs := range p.Running {
				if rs != nil {
					n += 2 * p.Spec.Layers[i].K
				}
			}
			return n
		}
		want := []int{unpadded(tr.d)}
		for range c.gs {
			want = append(want, unpadded(tr.g))
		}
		want = append(want, tr.stats.Size()/4+running(tr.g)+running(tr.d))
		if got := cfg.AllreduceFloats(); !slices.Equal(got, want) {
			t.Errorf("%s: AllreduceFloats %v, want %v", c.preset, got, want)
		}
		tr.Close()
	}
}
