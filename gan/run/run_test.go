package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/safetensors"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// tinyRun is a run of tinyConfig on 40 synthetic images in a new folder.
func tinyRun(t testing.TB, steps int) *Run {
	dir := t.TempDir()
	images := filepath.Join(dir, "images.idx")
	if err := os.WriteFile(images, gantest.IDX(40, 28, 28), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Run{Dir: filepath.Join(dir, "run"), Config: Config{Train: gantest.TinyConfig(t), Data: images, Crop: data.CropSquare,
		Steps: steps, SampleEvery: 2, CheckpointEvery: 2, Keep: 2}}
}

// stateBits downloads a trainer's whole state (parameters, running
// statistics, Adam's moments, the counters) as raw float32 bits.
func stateBits(t testing.TB, tr *gan.Trainer) map[string][]float32 {
	st, err := tr.State()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, s := range st {
		out[s.Name] = s.F32
		for _, n := range s.I64 {
			out[s.Name] = append(out[s.Name], float32(n))
		}
	}
	return out
}

func sameBits(a, b map[string][]float32) string {
	for name, v := range a {
		w := b[name]
		if len(v) != len(w) {
			return name
		}
		for i := range v {
			if v[i] != w[i] && !(v[i] != v[i] && w[i] != w[i]) {
				return name
			}
		}
	}
	return ""
}

func TestCheckpointRoundTrip(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	a, err := gan.NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := 0; i < 2; i++ {
		if _, err := a.Step(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), checkpointName(2))
	if err := SaveCheckpoint(a, path, nil); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Seed = 99 // another initialisation, the same configuration otherwise
	b, err := gan.NewTrainer(d, other)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Restore(b, c); err == nil || !strings.Contains(err.Error(), "was written by a run configured") {
		t.Fatalf("loading into another seed's trainer: %v", err)
	}
	b.Close()
	if b, err = gan.NewTrainer(d, cfg); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Step(); err != nil { // move it away from the initial state
		t.Fatal(err)
	}
	if err := Restore(b, c); err != nil {
		t.Fatal(err)
	}
	if name := sameBits(stateBits(t, a), stateBits(t, b)); name != "" {
		t.Errorf("%s differs after the round trip", name)
	}
	if b.Steps() != 2 {
		t.Errorf("loaded step %d, want 2", b.Steps())
	}
	// PyTorch's state_dict names and shapes, and num_batches_tracked.
	for name, shape := range map[string][]int{
		"generator.0.weight":                   {7 * 7 * 16, 16},
		"generator.2.running_var":              {16},
		"generator.4.weight":                   {16, 8, 5, 5},
		"generator.10.bias":                    {1},
		"discriminator.0.weight":               {4, 1, 5, 5},
		"discriminator.7.weight":               {1, 8 * 7 * 7},
		"optimizer.generator.4.weight.exp_avg": {16, 8, 5, 5},
	} {
		if e, ok := c.file.Entry(name); !ok || !slices.Equal(e.Shape, shape) {
			t.Errorf("%s: %v, want shape %v", name, e.Shape, shape)
		}
	}
	if e, _ := c.file.Entry("generator.2.num_batches_tracked"); e.DType != "I64" || len(e.Shape) != 0 {
		t.Errorf("num_batches_tracked is %s %v, want an I64 scalar", e.DType, e.Shape)
	}
	// The EMA generator loads into the same nn.Sequential: every tensor of
	// the generator's state_dict under generator_ema, and nothing more.
	raw, ema := map[string]string{}, map[string]string{}
	for _, e := range c.file.Tensors() {
		entry := fmt.Sprintf("%s %v", e.DType, e.Shape)
		if rest, ok := strings.CutPrefix(e.Name, "generator."); ok {
			raw[rest] = entry
		} else if rest, ok := strings.CutPrefix(e.Name, "generator_ema."); ok {
			ema[rest] = entry
		}
	}
	if len(raw) == 0 || !maps.Equal(raw, ema) {
		t.Errorf("the EMA generator's tensors %v differ from the generator's %v", ema, raw)
	}
}

// TestCheckpointRefusals holds ReadCheckpoint and Load to a clear refusal
// for each way a file can be wrong.
func TestCheckpointRefusals(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	tr, err := gan.NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := SaveCheckpoint(tr, good, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	// rewrite writes a checkpoint with the good one's tensors and metadata,
	// changed by edit.
	rewrite := func(name string, edit func(meta map[string]string, ts []safetensors.Tensor) []safetensors.Tensor) string {
		meta := map[string]string{}
		for k, v := range c.Meta {
			meta[k] = v
		}
		ts := c.file.Tensors()
		ts = edit(meta, ts)
		p := filepath.Join(dir, name)
		if err := safetensors.Write(p, meta, ts); err != nil {
			t.Fatal(err)
		}
		return p
	}
	find := func(ts []safetensors.Tensor, name string) *safetensors.Tensor {
		for i := range ts {
			if ts[i].Name == name {
				return &ts[i]
			}
		}
		t.Fatalf("no tensor %s", name)
		return nil
	}
	wider := cfg
	wider.Model.GF = 8
	for _, c := range []struct {
		name string
		file func() string
		err  string
	}{
		{"truncated", func() string { return gantest.WriteFile(t, filepath.Join(dir, "cut"), raw[:len(raw)-100]) }, "truncated or corrupt"},
		{"header only", func() string { return gantest.WriteFile(t, filepath.Join(dir, "short"), raw[:5]) }, "too short"},
		{"overlapping tensors", func() string {
			return gantest.WriteFile(t, filepath.Join(dir, "overlap"), readFileT(t, filepath.Join("testdata", "fuzz", "FuzzCheckpoint", "overlapping-tensors"), true))
		}, "tensors overlap"},
		{"huge header length", func() string {
			b := append([]byte{}, raw...)
			b[7] = 0x10
			return gantest.WriteFile(t, filepath.Join(dir, "huge"), b)
		}, "the header claims"},
		{"not JSON", func() string {
			b := append([]byte{}, raw...)
			b[8] = '!'
			return gantest.WriteFile(t, filepath.Join(dir, "json"), b)
		}, "not JSON"},
		{"not ours", func() string {
			return rewrite("foreign", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				delete(m, "format")
				return ts
			})
		}, "not written by gan-vk"},
		{"wrong dtype", func() string {
			return rewrite("dtype", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				x := find(ts, "generator.0.weight")
				x.DType, x.Shape = "I64", []int{x.Shape[0] / 2, x.Shape[1]}
				return ts
			})
		}, `"generator.0.weight" is I64`},
		{"wrong shape", func() string {
			return rewrite("shape", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				x := find(ts, "generator.4.weight")
				x.Shape = []int{x.Shape[1], x.Shape[0], 5, 5}
				return ts
			})
		}, `"generator.4.weight" has shape [8 16 5 5]`},
		{"missing tensor", func() string {
			return rewrite("missing", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				x := find(ts, "discriminator.3.bias")
				x.Name = "discriminator.3.beta"
				return ts
			})
		}, `no tensor "discriminator.3.bias"`},
		{"other model", func() string {
			return rewrite("wider", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				m["config"] = describe(wider)
				return ts
			})
		}, `"gf":8`},
		{"NaN", func() string {
			return rewrite("nan", func(m map[string]string, ts []safetensors.Tensor) []safetensors.Tensor {
				x := find(ts, "generator.10.bias")
				x.Data = []byte{0, 0, 0xc0, 0x7f}
				return ts
			})
		}, "NaN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := c.file()
			ck, err := ReadCheckpoint(path)
			if err == nil {
				err = Restore(tr, ck)
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("got %v, want an error containing %q", err, c.err)
			}
		})
	}
}

// TestCheckpointWriteFailure: a write that fails leaves what was there and
// no temporary file.
func TestCheckpointWriteFailure(t *testing.T) {
	d := vktest.Open(t)
	tr, err := gan.NewTrainer(d, gantest.TinyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	// The target is a non-empty directory: the rename at the end fails.
	target := filepath.Join(dir, "step.safetensors")
	gantest.WriteFile(t, filepath.Join(target, "keep"), []byte("previous"))
	if err := SaveCheckpoint(tr, target, nil); err == nil {
		t.Fatal("saving over a directory succeeded")
	}
	if b, err := os.ReadFile(filepath.Join(target, "keep")); err != nil || string(b) != "previous" {
		t.Errorf("what was at the target changed: %q, %v", b, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the failed write left files behind: %v", ents)
	}
}

// TestResumeIsExact: 6 steps straight, and 3 steps then a resume to 6,
// give the same bits, metrics included; with the heuristic's kernels and
// with a recorded plan of others (as a tuned run has), which the resume
// builds again; and augmented and mirrored, with a fixed p and an adaptive
// one (whose interval of 4 steps the resume splits).
func TestResumeIsExact(t *testing.T) {
	d := vktest.Open(t)
	tuned := gantest.TinyConfig(t).KernelPlan(d.Info(), layers.Force{Form: layers.Register, LX: 4, LY: 4, TM: 8, TN: 4, Split: 2})
	all := layers.Color | layers.Translation | layers.Cutout
	for _, c := range []struct {
		name string
		set  func(*gan.TrainConfig)
	}{
		{"conditional", func(c *gan.TrainConfig) { c.Model.Classes = 4 }}, // on labelled data
		{"heuristic", func(*gan.TrainConfig) {}},
		{"tuned", func(c *gan.TrainConfig) { c.Kernels = tuned }},
		{"augmented", func(c *gan.TrainConfig) { c.Augment, c.AugmentP, c.Mirror = all, 0.5, true }},
		{"adaptive", func(c *gan.TrainConfig) { c.Augment, c.AugmentAuto = all, true }},
		{"dcgan128, SNGAN's discriminator, two D updates a step", func(c *gan.TrainConfig) {
			m, err := gan.DefaultModel("dcgan128", 1)
			if err != nil {
				t.Fatal(err)
			}
			m.Z, m.GF, m.DF, m.SN, m.DNorm = 8, 1, 1, true, gan.NormNone
			c.Model, c.Loss, c.DSteps, c.GSteps, c.EMA = m, layers.Hinge, 2, 1, 0
		}},
	} {
		t.Run(c.name, func(t *testing.T) { checkResume(t, d, c.set) })
	}
}

func checkResume(t *testing.T, d *vk.Device, set func(*gan.TrainConfig)) {
	ctx := context.Background()
	straight := tinyRun(t, 6)
	set(&straight.Config.Train)
	if straight.Config.Train.Model.Conditional() { // both halves on the same labelled data
		straight.Config.Data = gantest.LabelledIDX(t, t.TempDir(), 40, 5)
	}
	if _, err := straight.Train(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	split := tinyRun(t, 3)
	set(&split.Config.Train)
	split.Config.Data = straight.Config.Data
	split.Config.CheckpointEvery = 0
	if step, err := split.Train(ctx, d, false); err != nil || step != 3 {
		t.Fatalf("first half: step %d, %v", step, err)
	}
	// The resume reads its configuration back from the folder, as
	// gan-vk train --resume does.
	cfg, err := ReadConfig(split.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Train.Equal(split.Config.Train) {
		t.Fatalf("config.json holds %+v, the run was %+v", cfg.Train, split.Config.Train)
	}
	split.Config = cfg
	split.Config.Steps = 6
	if step, err := split.Train(ctx, d, true); err != nil || step != 6 {
		t.Fatalf("second half: step %d, %v", step, err)
	}
	a, err := os.ReadFile(filepath.Join(straight.checkpointsDir(), checkpointName(6)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(split.checkpointsDir(), checkpointName(6)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the resumed run's checkpoint differs from the straight run's")
	}
	ma, _ := os.ReadFile(straight.metricsPath())
	mb, _ := os.ReadFile(split.metricsPath())
	if la, lb := metricLosses(t, ma), metricLosses(t, mb); la != lb {
		t.Errorf("metrics differ:\n%s\nvs\n%s", la, lb)
	}
	files, _ := Checkpoints(straight.checkpointsDir())
	if len(files) != 2 {
		t.Errorf("--keep 2 kept %d checkpoints: %v", len(files), files)
	}
}

// metricLosses keeps what each metrics line says of the step, without its
// timings (which differ).
func metricLosses(t *testing.T, b []byte) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics line %q: %v", l, err)
		}
		for _, k := range []string{"images_per_sec", "ms_per_step", "allreduce_ms"} {
			delete(m, k)
		}
		v, _ := json.Marshal(m) // sorted keys
		out = append(out, string(v))
	}
	return strings.Join(out, "\n")
}

// TestInterrupt: a cancelled run finishes its step and checkpoints.
func TestInterrupt(t *testing.T) {
	d := vktest.Open(t)
	r := tinyRun(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	step, err := r.Train(ctx, d, false)
	if !errors.Is(err, context.Canceled) || step != 1 {
		t.Fatalf("step %d, %v; want step 1, context.Canceled", step, err)
	}
	if _, err := os.Stat(filepath.Join(r.checkpointsDir(), checkpointName(1))); err != nil {
		t.Errorf("no checkpoint after the interrupt: %v", err)
	}
}

// TestDivergence: an absurd learning rate stops the run with a clear error
// and writes no checkpoint of the NaNs (1e8 overflows Adam's second moment
// while the losses are still finite; 1e18 makes the losses NaN).
func TestDivergence(t *testing.T) {
	d := vktest.Open(t)
	for _, lr := range []float32{1e8, 1e18} {
		r := tinyRun(t, 60)
		r.Config.Train.LR = lr
		r.Config.CheckpointEvery = 1
		step, err := r.Train(context.Background(), d, false)
		if !errors.Is(err, gan.ErrDiverged) {
			t.Fatalf("lr %g: step %d: %v; want gan.ErrDiverged", lr, step, err)
		}
		if !strings.Contains(err.Error(), "lower --lr") || !strings.Contains(err.Error(), "no checkpoint was written") {
			t.Errorf("lr %g: the error does not say what happened and what to try: %v", lr, err)
		}
		if ents, _ := os.ReadDir(r.checkpointsDir()); len(ents) != 0 {
			t.Errorf("lr %g: the checkpoints folder holds %v", lr, ents)
		}
	}
}

// TestMetricsRepair: resuming drops a partial last line and the lines of
// steps after the checkpoint.
func TestMetricsRepair(t *testing.T) {
	d := vktest.Open(t)
	r := tinyRun(t, 2)
	if _, err := r.Train(context.Background(), d, false); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(r.metricsPath(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"step":3,"epoch":0.6,"d_loss":1}` + "\n" + `{"step":4,"ep`)
	f.Close()
	r.Config.Steps = 3
	if _, err := r.Train(context.Background(), d, true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(r.metricsPath())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], `{"step":3,`) || strings.Contains(string(b), `"d_loss":1}`) {
		t.Errorf("metrics after the repair:\n%s", b)
	}
}

// TestWriteFailedHints: a failed write says what to do about the cause.
func TestWriteFailedHints(t *testing.T) {
	r := &Run{Dir: t.TempDir()}
	for _, c := range []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, "free some space, then continue with: gan-vk train --resume " + r.Dir},
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.EFBIG}, "free some space"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}, "make " + r.Dir + " writable"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, "make " + r.Dir + " writable"},
		{errors.New("something else"), "no checkpoint yet: continue with"},
	} {
		got := r.writeFailed(c.err)
		if !errors.Is(got, c.err) || !strings.Contains(got.Error(), c.want) || !strings.Contains(got.Error(), "training stopped") {
			t.Errorf("writeFailed(%v) = %v; want it to wrap the cause and say %q", c.err, got, c.want)
		}
	}
}

// TestRankLabels: a data-parallel rank's classes are its rows of the
// loader's batch (rank 1 of 2: the batch's second half), for each of a
// step's D updates' batches.
func TestRankLabels(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	cfg.Model.Classes, cfg.DSteps, cfg.EMA = 4, 2, 0
	tr, err := gan.NewParallelTrainer(d, cfg, gan.Ranks{Rank: 1, Size: 2, Sum: func([]float32) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ds, err := data.Open(data.Options{Path: gantest.LabelledIDX(t, t.TempDir(), 40, 9), Size: 28, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	loader, err := data.NewLoader(ds, cfg.Batch, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	l := &loop{t: tr, loader: loader}
	whole := make([]uint32, cfg.Batch)
	for batch := range 6 {
		k := batch % 2
		if err := l.uploadLabels(batch, k); err != nil {
			t.Fatal(err)
		}
		if err := loader.BatchLabels(batch, whole); err != nil {
			t.Fatal(err)
		}
		got := make([]uint32, cfg.Batch/2)
		if err := tr.RealLabels(k).Download(0, vk.Uint32Bytes(got)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, whole[cfg.Batch/2:]) {
			t.Errorf("batch %d: rank 1 has classes %v of the batch's %v", batch, got, whole)
		}
	}
}
