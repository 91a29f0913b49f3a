package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/viewer"
	"github.com/gan-vk/gan-vk/vk"
)

const trainSynopsis = `train [flags]

Trains a DCGAN. With no flags it trains dcgan28 on Fashion-MNIST from
Debian's dataset-fashion-mnist for 25 epochs, in a new folder under runs/.

A run folder holds config.json (everything --resume needs), metrics.jsonl
(one line per step), samples/ (real.png, then step_NNNNNN.png: an 8×8 grid
from a fixed z) and checkpoints/ (safetensors, the newest --keep kept).
Ctrl-C or SIGTERM finishes the step, writes a checkpoint and exits 0.

--data takes an IDX images file (MNIST, Fashion-MNIST, EMNIST; raw or .gz),
a directory holding train-images-idx3-ubyte[.gz], or a folder of JPEG and
PNG images searched recursively (e.g. CelebA's img_align_celeba). A folder
is decoded once, cropped (--crop) and resized to the model's size, into a
cache beside the runs (--cache). Bad data: a missing path, an empty folder,
or an IDX file with the wrong magic, impossible dimensions or the wrong
length stops before training; images of a folder that fail to decode are
skipped, counted and the first few named, and training stops only when
none decodes.

--steps and --epochs count the whole run: --resume with --steps 2000 on a
run at step 1500 trains 500 more. On --resume only --steps, --epochs,
--device, --quiet, --sample-every, --checkpoint-every, --checkpoint-minutes,
--keep, --cache and --view may be given; the rest comes from the run's
config.json, which also records the kernel configuration of every pass
(from gan-vk tune's cache where it had the shape, the built-in choice
elsewhere; --tune tunes first), so a resume sums in the same order.

--view opens a window that shows the fixed-z sample grid as it learns, the
loss and D(x), D(G(z)) curves, and the step, epoch and images/s. The grid
is refreshed as often as costs under 5 % of training's time. When the run
reaches its last step the window stays open on it until closed. Without a
display --view stops before training, saying so. Keys in the window:

` + viewer.Keys

// resumable lists the flags --resume accepts: they change how a run goes
// on, not what it computes.
var resumable = map[string]bool{"resume": true, "steps": true, "epochs": true, "device": true, "quiet": true,
	"sample-every": true, "checkpoint-every": true, "checkpoint-minutes": true, "keep": true, "cache": true, "view": true}

func runTrain(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("train", trainSynopsis, stdout, stderr)
	data := fs.String("data", gan.DefaultData, "training images (a `path`): an IDX file, a directory with train-images-idx3-ubyte[.gz], or an image folder")
	preset := fs.String("preset", "", "model: dcgan64 or dcgan28 (default: dcgan28 for IDX data, dcgan64 for image folders)")
	batch := fs.Int("batch", 64, "batch size")
	epochs := fs.Int("epochs", 25, "epochs to train in all (ignored when --steps is given)")
	steps := fs.Int("steps", 0, "steps to train in all (one step: one D update and --g-steps G updates)")
	seed := fs.Uint64("seed", 1, "random seed: initial weights, z, dropout and data order")
	device := fs.String("device", "", "Vulkan device: an index or part of a name (gan-vk devices lists them)")
	runDir := fs.String("run", "", "run `folder` (default runs/<time>-<short id>)")
	sampleEvery := fs.Int("sample-every", 200, "write a sample grid every this many steps (0: only at the end)")
	ckptEvery := fs.Int("checkpoint-every", 500, "write a checkpoint every this many steps (0: only at the end)")
	ckptMinutes := fs.Float64("checkpoint-minutes", 10, "also write a checkpoint when this many minutes have passed since the last (0: off)")
	keep := fs.Int("keep", 3, "checkpoints to keep")
	resume := fs.String("resume", "", "continue the run in this `folder` from its newest checkpoint")
	quiet := fs.Bool("quiet", false, "print only errors and the final line")
	gf := fs.Int("gf", 0, "generator width, carpedm20's gf_dim (default: 128 for dcgan64, 64 for dcgan28)")
	df := fs.Int("df", 0, "discriminator width, carpedm20's df_dim (default 64)")
	leak := fs.Float64("leak", 0.2, "LeakyReLU slope")
	dropout := fs.Float64("dropout", 0.3, "dcgan28's discriminator dropout (0 turns it off; dcgan64's discriminator has none)")
	lr := fs.Float64("lr", 2e-4, "Adam learning rate")
	beta1 := fs.Float64("beta1", 0.5, "Adam β1")
	gSteps := fs.Int("g-steps", 2, "generator updates per discriminator update (carpedm20: 2; pytorch/examples: 1)")
	crop := fs.String("crop", gan.CropSquare, "image folders: square (largest centred square) or celeba (carpedm20's 108×108 face crop)")
	cache := fs.String("cache", "", "`folder` for decoded image folders (default: .cache beside the run folder)")
	view := fs.Bool("view", false, "show the live sample grid and curves in a window while training")
	tune := fs.Bool("tune", false, "first find the fastest kernels for this run's shapes on the device (as gan-vk tune does) and cache them")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var cfg gan.RunConfig
	dir := *runDir
	if *resume != "" {
		for name := range set {
			if !resumable[name] {
				return &usageError{fmt.Sprintf("--%s cannot be given with --resume: the run's config.json fixes it", name)}
			}
		}
		var err error
		if cfg, err = gan.ReadRunConfig(*resume); err != nil {
			return err
		}
		dir = *resume
		if set["steps"] || set["epochs"] {
			cfg.Steps, cfg.Epochs = 0, *epochs
			if set["steps"] {
				cfg.Steps = *steps
			}
		}
		if set["sample-every"] {
			cfg.SampleEvery = *sampleEvery
		}
		if set["checkpoint-every"] {
			cfg.CheckpointEvery = *ckptEvery
		}
		if set["checkpoint-minutes"] {
			cfg.CheckpointMinutes = *ckptMinutes
		}
		if set["keep"] {
			cfg.Keep = *keep
		}
	} else {
		channels, auto, err := gan.ProbeData(*data)
		if err != nil {
			return err
		}
		if *preset == "" {
			*preset = auto
		}
		m, err := gan.DefaultModel(*preset, channels)
		if err != nil {
			return &usageError{err.Error()}
		}
		if *gf > 0 {
			m.GF = *gf
		}
		if *df > 0 {
			m.DF = *df
		}
		if set["gf"] && *gf <= 0 || set["df"] && *df <= 0 {
			return &usageError{"--gf and --df must be positive"}
		}
		m.Leak = float32(*leak)
		switch {
		case m.Preset == "dcgan28":
			m.Dropout = float32(*dropout)
		case set["dropout"] && *dropout > 0:
			return &usageError{"--dropout applies to dcgan28's discriminator; dcgan64's has none"}
		}
		cfg = gan.RunConfig{
			Train: gan.TrainConfig{Model: m, Batch: *batch, LR: float32(*lr), Beta1: float32(*beta1), GSteps: *gSteps, Seed: *seed},
			Data:  *data, Crop: *crop, Steps: *steps, Epochs: *epochs,
			SampleEvery: *sampleEvery, CheckpointEvery: *ckptEvery, CheckpointMinutes: *ckptMinutes, Keep: *keep,
		}
		if *steps > 0 {
			cfg.Epochs = 0
		}
		if dir == "" {
			dir = filepath.Join("runs", gan.NewRunName(time.Now()))
		} else if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
			return &usageError{fmt.Sprintf("%s already holds a run; continue it with --resume %s, or pick another --run", dir, dir)}
		}
	}
	if err := cfg.Check(); err != nil {
		return &usageError{err.Error()}
	}
	if *crop != gan.CropSquare && *crop != gan.CropCelebA {
		return &usageError{fmt.Sprintf("--crop %q: use %s or %s", *crop, gan.CropSquare, gan.CropCelebA)}
	}
	cacheDir := *cache
	if cacheDir == "" {
		cacheDir = filepath.Join(filepath.Dir(filepath.Clean(dir)), ".cache")
	}

	var w *viewer.Window
	var d *vk.Device
	if *view {
		w, d, err = openViewer("gan-vk · "+dir, *device)
	} else {
		d, err = openDevice(*device)
	}
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	if w != nil {
		defer w.Close()
	}

	if *resume == "" {
		// A new run takes each pass's tile from the tuning cache where it
		// has the shape, the heuristic elsewhere, and records them all in
		// config.json; a resume builds what its config.json records.
		tiles := kernelTiles(d.Info(), stderr)
		if *tune {
			if tiles, err = tuneKernels(d, cfg.Train, gan.TuneOptions{}, stdout, stderr); err != nil {
				return err
			}
		}
		cfg.Train.Kernels = cfg.Train.KernelPlan(d.Info(), tiles)
	}
	out := newProgress(stdout, *quiet)
	r := &gan.Run{Dir: dir, Config: cfg, CacheDir: cacheDir, Log: out.log, Report: out.report}
	total := "its steps"
	if cfg.Steps > 0 {
		total = fmt.Sprintf("%d steps", cfg.Steps)
	} else {
		total = fmt.Sprintf("%d epochs", cfg.Epochs)
	}
	m := cfg.Train.Model
	out.log("%s (%d×%d×%d) on %s, batch %d, %s, on %s; run folder %s",
		m.Preset, m.Channels, m.Size(), m.Size(), cfg.Data, cfg.Train.Batch, total, d.Info().Name, dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer stopOnSignal(func() {
		out.log("stopping: finishing the step and writing a checkpoint")
		cancel()
	})()
	var step int
	if w != nil {
		step, err = trainWithViewer(ctx, cancel, w, d, r, *resume != "", out)
	} else {
		step, err = r.Train(ctx, d, *resume != "")
	}
	out.finish()
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stdout, "stopped at step %d with a checkpoint; continue with: gan-vk train --resume %s\n", step, dir)
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "trained %d steps; samples in %s, checkpoints in %s\n", step,
		filepath.Join(dir, "samples"), filepath.Join(dir, "checkpoints"))
	return nil
}

// openDevice opens the Vulkan device; GAN_VK_VALIDATION=1 turns the
// validation layer on (the tests do), and closeDevice then fails the
// command on any message.
func openDevice(sel string) (*vk.Device, error) {
	return vk.Open(vk.Options{Device: sel, Validation: os.Getenv("GAN_VK_VALIDATION") == "1"})
}

func closeDevice(d *vk.Device, stderr io.Writer, err *error) {
	cerr := d.Close()
	msgs := d.Messages()
	for _, m := range msgs {
		fmt.Fprintf(stderr, "validation layer: %s [%s]\n", m.Text, m.ID)
	}
	if *err == nil && cerr != nil {
		*err = cerr
	}
	if *err == nil && len(msgs) > 0 {
		*err = fmt.Errorf("the validation layer reported %d messages", len(msgs))
	}
}

// progress prints what a run reports: a bar redrawn in place on a
// terminal, a line every so often otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	quiet    bool
	drawn    bool
	lastLine time.Time

	started   bool
	firstStep int // the step before the first this process ran
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) log(format string, args ...any) {
	if p.quiet {
		return
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) report(ev gan.Event) {
	if p.quiet {
		return
	}
	st := ev.Stats
	if !p.started { // a resumed run starts past step 0
		p.started, p.firstStep = true, ev.Step-1
	}
	eta := "-"
	if done := ev.Step - p.firstStep; ev.TotalSteps > ev.Step {
		left := time.Duration(float64(ev.Elapsed) / float64(done) * float64(ev.TotalSteps-ev.Step))
		eta = left.Round(time.Second).String()
	}
	nums := fmt.Sprintf("d %.3f g %.3f D(x) %.2f D(G(z)) %.2f  %.1f img/s  ETA %s",
		st.DLoss(), st.G, st.DX, st.DGZ, ev.ImagesPerSec, eta)
	if p.tty {
		const width = 24
		done := width * ev.Step / max(1, ev.TotalSteps)
		bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
		fmt.Fprintf(p.w, "\r\033[Kstep %d/%d epoch %d [%s] %s", ev.Step, ev.TotalSteps, ev.Epoch+1, bar, nums)
		p.drawn = true
		if ev.Checkpoint != "" {
			p.log("checkpoint %s", ev.Checkpoint)
		}
		return
	}
	if ev.Step == 1 || ev.Step == ev.TotalSteps || time.Since(p.lastLine) >= 10*time.Second || ev.Checkpoint != "" {
		fmt.Fprintf(p.w, "step %d/%d epoch %d: %s\n", ev.Step, ev.TotalSteps, ev.Epoch+1, nums)
		p.lastLine = time.Now()
		if ev.Checkpoint != "" {
			fmt.Fprintf(p.w, "checkpoint %s\n", ev.Checkpoint)
		}
	}
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
