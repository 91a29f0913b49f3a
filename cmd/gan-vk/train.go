package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/gan/tune"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/viewer"
	"github.com/gan-vk/gan-vk/vk"
)

// trainSynopsis is train's usage, with the flags --resume accepts listed
// from their table.
func trainSynopsis() string { return strings.Replace(trainUsage, "{{resumable}}", resumableList(), 1) }

const trainUsage = `train [flags]

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

Small data: on a few hundred images the discriminator memorises the
training set and the generator collapses or copies it. --augment passes
every image the discriminator sees, real and generated, through random
transforms first (DiffAugment: color, translation, cutout), and the
generator learns through them, so its images stay unaugmented. Each
transform applies to an image with probability --augment-p; auto adapts p
as ADA does: it starts at 0 and rises only while the discriminator is sure
of the real images (the mean sign of its logits on them above 0.6), by at
most 1 in 500k images. Which to use:
  a few hundred images    --augment color,translation,cutout (p 1)
  a few thousand          --augment color,translation,cutout --augment-p auto
  tens of thousands       nothing (augmentation costs time and a little quality)
Add --mirror where a mirrored image is as likely as the original (faces,
animals; not text or logos): it flips each real image with probability ½.

--steps and --epochs count the whole run: --resume with --steps 2000 on a
run at step 1500 trains 500 more. With --resume only these may be given:
{{resumable}}.
The rest comes from the run's config.json, which also records the kernel
configuration of every pass
(from gan-vk tune's cache where it had the shape, the built-in choice
elsewhere; --tune tunes first), so a resume sums in the same order.

Under mpirun (mpirun -np N gan-vk train …) the run trains on N processes,
one device each: --batch is the global batch, each process trains its
share, and rank 0 writes the run folder; --device may list one device per
process on a machine (--device 0,1). Give mpirun --mca
odls_base_sigkill_timeout 30 so that a Ctrl-C ends in a checkpoint.

--view opens a window that shows the fixed-z sample grid as it learns, the
loss and D(x), D(G(z)) curves, and the step, epoch and images/s. The grid
is refreshed as often as costs under 5 % of training's time. When the run
reaches its last step the window stays open on it until closed. Without a
display --view stops before training, saying so. Keys in the window:

` + viewer.Keys

// defaultEMA is --ema's default decay.
const defaultEMA = 0.999

// resumable are the flags --resume accepts, which change how a run goes on,
// not what it computes, and how each changes the resumed run's
// configuration (nil: one config.json does not hold). The help text, the
// check and the assignment all read this table.
func resumable() []resumableFlag {
	return []resumableFlag{
		{"steps", func(f *trainFlags, c *run.Config) { c.Steps, c.Epochs = f.steps, f.epochs }},
		{"epochs", func(f *trainFlags, c *run.Config) {
			if !f.set["steps"] {
				c.Steps, c.Epochs = 0, f.epochs
			}
		}},
		{"device", nil},
		{"quiet", nil},
		{"sample-every", func(f *trainFlags, c *run.Config) { c.SampleEvery = f.sampleEvery }},
		{"checkpoint-every", func(f *trainFlags, c *run.Config) { c.CheckpointEvery = f.ckptEvery }},
		{"checkpoint-minutes", func(f *trainFlags, c *run.Config) { c.CheckpointMinutes = f.ckptMinutes }},
		{"keep", func(f *trainFlags, c *run.Config) { c.Keep = f.keep }},
		{"cache", nil},
		{"view", nil},
		{"score-every", func(f *trainFlags, c *run.Config) { c.ScoreEvery = f.scoreEvery }},
		{"score-n", func(f *trainFlags, c *run.Config) { c.ScoreN = f.scoreN }},
		{"gif", nil},
	}
}

// resumableFlag is one flag --resume accepts.
type resumableFlag struct {
	name  string
	apply func(f *trainFlags, c *run.Config)
}

// resumableList is the flags --resume accepts, as the help text lists them.
func resumableList() string {
	var names []string
	for _, r := range resumable() {
		names = append(names, "--"+r.name)
	}
	words := strings.Fields(strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1])
	var lines []string
	for _, w := range words { // wrapped as the rest of the help text
		if n := len(lines); n > 0 && len(lines[n-1])+1+len(w) <= 74 {
			lines[n-1] += " " + w
		} else {
			lines = append(lines, w)
		}
	}
	return strings.Join(lines, "\n")
}

// trainFlags are train's flags; set holds the names given on the command line.
type trainFlags struct {
	data, preset, device, runDir, resume, crop, cache      string
	augment, augmentP, loss, dNorm                         string
	batch, epochs, steps, sampleEvery, ckptEvery, keep, gf int
	df, gSteps, dSteps, scoreEvery, scoreN, size           int
	seed                                                   uint64
	ckptMinutes, leak, dropout, lr, beta1, ema, lrD, lrG   float64
	quiet, view, tune, gif, mirror, sn, conditional        bool
	set                                                    map[string]bool
}

func newTrainFlags(fs *flag.FlagSet) *trainFlags {
	f := &trainFlags{}
	fs.StringVar(&f.data, "data", data.Default, "training images (a `path`): an IDX file, a directory with train-images-idx3-ubyte[.gz], or an image folder")
	fs.StringVar(&f.preset, "preset", "", "model: dcgan28, or the DCGAN family dcgan32, dcgan64, dcgan128, dcgan256 (default: dcgan28 for IDX data, dcgan64 for image folders)")
	fs.IntVar(&f.size, "size", 0, "image side for the DCGAN family: 32, 64, 128 or 256 (picks dcgan<size>; the data is resized to it)")
	fs.IntVar(&f.batch, "batch", 64, "batch size")
	fs.IntVar(&f.epochs, "epochs", 25, "epochs to train in all (ignored when --steps is given)")
	fs.IntVar(&f.steps, "steps", 0, "steps to train in all (one step: --d-steps D updates and --g-steps G updates)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed: initial weights, z, dropout and data order")
	fs.StringVar(&f.device, "device", "", "Vulkan device: an index or part of a name (gan-vk devices lists them)")
	fs.StringVar(&f.runDir, "run", "", "run `folder` (default runs/<time>-<short id>)")
	fs.IntVar(&f.sampleEvery, "sample-every", 200, "write a sample grid every this many steps (0: only at the end)")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 500, "write a checkpoint every this many steps (0: only at the end)")
	fs.Float64Var(&f.ckptMinutes, "checkpoint-minutes", 10, "also write a checkpoint when this many minutes have passed since the last (0: off)")
	fs.IntVar(&f.keep, "keep", 3, "checkpoints to keep")
	fs.IntVar(&f.scoreEvery, "score-every", 0, "score the EMA and raw generators (FD, KID against the data; gan-vk score) every this many steps into metrics.jsonl (0: never)")
	fs.IntVar(&f.scoreN, "score-n", run.DefaultScoreN, "images each --score-every score draws from each generator")
	fs.StringVar(&f.resume, "resume", "", "continue the run in this `folder` from its newest checkpoint")
	fs.BoolVar(&f.quiet, "quiet", false, "print only errors and the final line")
	fs.IntVar(&f.gf, "gf", 0, "generator width, carpedm20's gf_dim (default: 128 for the DCGAN family, 64 for dcgan28)")
	fs.IntVar(&f.df, "df", 0, "discriminator width, carpedm20's df_dim (default 64)")
	fs.Float64Var(&f.leak, "leak", 0.2, "LeakyReLU slope")
	fs.Float64Var(&f.dropout, "dropout", 0.3, "dcgan28's discriminator dropout (0 turns it off; the DCGAN family's discriminators have none)")
	fs.Float64Var(&f.lr, "lr", 2e-4, "Adam learning rate")
	fs.Float64Var(&f.lrD, "lr-d", 0, "the discriminator's own learning rate (two time scales, TTUR; 0: --lr)")
	fs.Float64Var(&f.lrG, "lr-g", 0, "the generator's own learning rate (0: --lr)")
	fs.StringVar(&f.loss, "loss", "bce", "the GAN loss: bce (the DCGAN paper's) or hinge (SNGAN's)")
	fs.BoolVar(&f.sn, "sn", false, "spectral norm on the discriminator's weights, one power iteration per update (SNGAN's; the DCGAN family; with --loss hinge)")
	fs.BoolVar(&f.conditional, "conditional", false, "class-conditional: train on labelled data (IDX labels beside the images, or a folder of class subfolders) so that sample --class picks what the generator draws (conditional batch norm in G, a projection in D)")
	fs.StringVar(&f.dNorm, "d-norm", "bn", "the discriminator's normalisation between its convs: bn (batch norm) or none (a bias; SNGAN's, with --sn)")
	fs.Float64Var(&f.beta1, "beta1", 0.5, "Adam β1")
	fs.Float64Var(&f.ema, "ema", defaultEMA, "decay of the moving average of the generator's weights, which sample grids, sample, view and score use (0: keep none)")
	fs.IntVar(&f.gSteps, "g-steps", 2, "generator updates per step (carpedm20: 2; pytorch/examples: 1)")
	fs.IntVar(&f.dSteps, "d-steps", 1, "discriminator updates per step, each on a real batch of its own, before the --g-steps generator updates (StudioGAN's DCGAN: 2 with --g-steps 1)")
	fs.StringVar(&f.augment, "augment", "", "augment what the discriminator sees, real and generated (DiffAugment): color, translation and cutout, joined by commas (see Small data)")
	fs.StringVar(&f.augmentP, "augment-p", "1", "probability each --augment transform applies to an image, in [0, 1], or auto: adapt it as ADA does, from 0 (alone: --augment "+defaultAugment+")")
	fs.BoolVar(&f.mirror, "mirror", false, "flip each real image left-right with probability ½ (for data whose mirror images are as likely)")
	fs.StringVar(&f.crop, "crop", data.CropSquare, "image folders: square (largest centred square) or celeba (carpedm20's 108×108 face crop)")
	fs.StringVar(&f.cache, "cache", "", "`folder` for decoded image folders (default: .cache beside the run folder)")
	fs.BoolVar(&f.view, "view", false, "show the live sample grid and curves in a window while training")
	fs.BoolVar(&f.gif, "gif", false, "when the run ends, write its sample grids as an animated GIF, progress.gif in the run folder (as gan-vk timelapse)")
	fs.BoolVar(&f.tune, "tune", false, "first find the fastest kernels for this run's shapes on the device (as gan-vk tune does) and cache them")
	return f
}

func runTrain(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("train", trainSynopsis(), stdout, stderr)
	f := newTrainFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	cfg, dir, err := f.runConfig()
	if err != nil {
		return err
	}
	// Under mpirun every rank checks with the others at each point where
	// one could fail alone, so that all stop together; alone each check
	// is the rank's own.
	rk, err := joinRanks()
	if err != nil {
		return err
	}
	defer rk.close()
	defer func() { err = rk.endRank(err, stderr) }()
	if dir, err = rk.agreeOnRun(startup{Config: cfg, Run: f.runDir, Resume: f.resume, Dir: dir}); err != nil {
		return err
	}
	w, d, err := f.open(rk, dir, stderr)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	if w != nil {
		defer w.Close()
	}
	if f.resume == "" { // a resume builds the kernels its config.json records
		if err := f.kernelPlan(rk, d, &cfg.Train, stdout, stderr); err != nil {
			return err
		}
	}
	out := newProgress(stdout, f.quiet || !rk.Lead())
	out.augment = cfg.Train.Augment != 0
	if !rk.Lead() {
		stdout = io.Discard
	}
	r := &run.Run{Dir: dir, Config: cfg, CacheDir: f.cacheDir(dir), Log: out.log, Report: out.report, Ranks: rk.Ranks, Program: program()}
	if cfg.ScoreEvery > 0 {
		if r.ScoreCache, err = scoreCacheDir(); err != nil {
			return err
		}
	}
	out.log("%s", describeRun(cfg, d, dir, rk))
	if note := rk.killTimeout(); note != "" {
		out.log("%s", note)
	}
	if err := train(w, d, r, f.resume != "", out, stdout); err != nil || !f.gif || !rk.Lead() {
		return err
	}
	return writeProgressGIF(r.Dir, stdout)
}

// open opens this rank's device, with the window on rank 0 under --view;
// every rank learns whether all did, and a rank that opened its device
// closes it when another failed.
func (f *trainFlags) open(rk ranks, dir string, stderr io.Writer) (*viewer.Window, *vk.Device, error) {
	sel, err := rk.deviceFor(f.device)
	var w *viewer.Window
	var d *vk.Device
	switch {
	case err != nil: // agreed below
	case f.view && rk.Lead(): // the window is rank 0's
		w, d, err = openViewer("gan-vk · "+dir, sel)
	default:
		d, err = openDevice(sel)
	}
	if err = rk.Agreed(err); err != nil && d != nil {
		if w != nil {
			w.Close()
		}
		closeDevice(d, stderr, &err)
		return nil, nil, err
	}
	return w, d, err
}

// kernelPlan records in a new run's configuration the tile of every GEMM
// pass: the tuning cache's where it has the shape (after --tune tunes),
// the heuristic's elsewhere. Every rank takes rank 0's.
func (f *trainFlags) kernelPlan(rk ranks, d *vk.Device, cfg *gan.TrainConfig, stdout, stderr io.Writer) error {
	var err error
	if rk.Lead() {
		tiles := kernelTiles(d.Info(), stderr)
		if f.tune {
			tiles, err = tuneKernels(d, *cfg, tune.Options{}, stdout, stderr)
		}
		cfg.Kernels = cfg.KernelPlan(d.Info(), tiles)
	}
	if err := rk.Agreed(err); err != nil {
		return err
	}
	return rk.shareKernels(cfg)
}

// writeProgressGIF writes --gif's progress.gif from the run's grids.
func writeProgressGIF(dir string, stdout io.Writer) error {
	gif := filepath.Join(dir, "progress.gif")
	grids, err := writeTimelapse(dir, gif, timelapseFlags{fps: 8, every: 1, hold: 2 * time.Second})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d frames (gan-vk timelapse %s makes it again)\n", gif, len(grids), dir)
	return nil
}

// runConfig is the run the flags ask for: the one --resume names, with
// the flags that may change it, or a new one, with its folder.
func (f *trainFlags) runConfig() (run.Config, string, error) {
	var cfg run.Config
	var dir string
	var err error
	if f.resume != "" {
		cfg, dir, err = f.resumeConfig()
	} else {
		cfg, dir, err = f.newConfig()
	}
	if err != nil {
		return cfg, dir, err
	}
	if err := cfg.Check(); err != nil {
		return cfg, dir, &usageError{err.Error()}
	}
	if f.crop != data.CropSquare && f.crop != data.CropCelebA {
		return cfg, dir, &usageError{fmt.Sprintf("--crop %q: use %s or %s", f.crop, data.CropSquare, data.CropCelebA)}
	}
	return cfg, dir, nil
}

func (f *trainFlags) resumeConfig() (run.Config, string, error) {
	ok := map[string]bool{"resume": true}
	for _, r := range resumable() {
		ok[r.name] = true
	}
	for name := range f.set {
		if !ok[name] {
			return run.Config{}, "", &usageError{fmt.Sprintf("--%s cannot be given with --resume: the run's config.json fixes it", name)}
		}
	}
	cfg, err := run.ReadConfig(f.resume)
	if err != nil {
		return cfg, "", err
	}
	for _, r := range resumable() {
		if f.set[r.name] && r.apply != nil {
			r.apply(f, &cfg)
		}
	}
	return cfg, f.resume, nil
}

func (f *trainFlags) newConfig() (run.Config, string, error) {
	var cfg run.Config
	channels, auto, err := data.Probe(f.data)
	if err != nil {
		return cfg, "", err
	}
	preset := f.preset
	if f.set["size"] {
		if preset, err = gan.SizedPreset(f.preset, f.size); err != nil {
			return cfg, "", &usageError{err.Error()}
		}
	}
	if preset == "" {
		preset = auto
	}
	m, err := gan.DefaultModel(preset, channels)
	if err != nil {
		return cfg, "", &usageError{err.Error()}
	}
	if f.gf > 0 {
		m.GF = f.gf
	}
	if f.df > 0 {
		m.DF = f.df
	}
	if f.set["gf"] && f.gf <= 0 || f.set["df"] && f.df <= 0 {
		return cfg, "", &usageError{"--gf and --df must be positive"}
	}
	m.Leak = float32(f.leak)
	switch {
	case m.Preset == "dcgan28":
		m.Dropout = float32(f.dropout)
	case f.set["dropout"] && f.dropout > 0:
		return cfg, "", &usageError{fmt.Sprintf("--dropout applies to dcgan28's discriminator; %s's has none", m.Preset)}
	}
	if f.conditional {
		if m.ClassNames, err = data.Classes(f.data); err != nil {
			return cfg, "", fmt.Errorf("--conditional: %w", err)
		}
		m.Classes = len(m.ClassNames)
	}
	if err := f.discriminatorNorm(&m); err != nil {
		return cfg, "", err
	}
	if f.dSteps < 1 {
		return cfg, "", &usageError{fmt.Sprintf("--d-steps %d: give at least 1", f.dSteps)}
	}
	tc := gan.TrainConfig{Model: m, Batch: f.batch, LR: float32(f.lr), Beta1: float32(f.beta1), GSteps: f.gSteps, Seed: f.seed,
		EMA: float32(f.ema), Mirror: f.mirror, LRD: float32(f.lrD), LRG: float32(f.lrG)}
	if f.dSteps > 1 {
		tc.DSteps = f.dSteps
	}
	if tc.Loss, err = layers.ParseLossKind(f.loss); err != nil {
		return cfg, "", &usageError{fmt.Sprintf("--loss: %v", err)}
	}
	if err := f.augmentation(&tc); err != nil {
		return cfg, "", err
	}
	cfg = run.Config{
		Train: tc,
		Data:  f.data, Crop: f.crop, Steps: f.steps, Epochs: f.epochs,
		SampleEvery: f.sampleEvery, CheckpointEvery: f.ckptEvery, CheckpointMinutes: f.ckptMinutes, Keep: f.keep,
		ScoreEvery: f.scoreEvery, ScoreN: f.scoreN,
	}
	if f.steps > 0 {
		cfg.Epochs = 0
	}
	dir := f.runDir
	if dir == "" {
		dir = filepath.Join("runs", run.NewName(time.Now()))
	} else if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return cfg, "", &usageError{fmt.Sprintf("%s already holds a run; continue it with --resume %s, or pick another --run", dir, dir)}
	}
	return cfg, dir, nil
}

// discriminatorNorm sets the model's --sn and --d-norm.
func (f *trainFlags) discriminatorNorm(m *gan.ModelConfig) error {
	norm, err := gan.ParseNorm(f.dNorm)
	if err != nil {
		return &usageError{fmt.Sprintf("--d-norm: %v", err)}
	}
	m.SN, m.DNorm = f.sn, norm
	if err := m.Check(); err != nil {
		return &usageError{err.Error()}
	}
	return nil
}

// defaultAugment is the policy --augment-p alone augments with.
const defaultAugment = "color,translation,cutout"

// augmentation sets the configuration's augmentation from --augment and
// --augment-p.
func (f *trainFlags) augmentation(c *gan.TrainConfig) error {
	policy := f.augment
	if policy == "" && !f.set["augment-p"] {
		return nil
	}
	if policy == "" {
		policy = defaultAugment
	}
	ops, err := layers.ParseAugmentOps(policy)
	if err != nil {
		return &usageError{fmt.Sprintf("--augment %q: %v", f.augment, err)}
	}
	c.Augment = ops
	if f.augmentP == "auto" {
		c.AugmentAuto = true
		return nil
	}
	p, err := strconv.ParseFloat(f.augmentP, 32)
	if err != nil || !(p >= 0 && p <= 1) {
		return &usageError{fmt.Sprintf("--augment-p %q: give a probability in [0, 1], or auto", f.augmentP)}
	}
	c.AugmentP = float32(p)
	return nil
}

// cacheDir is where decoded image folders go: --cache, or .cache beside
// the run folder.
func (f *trainFlags) cacheDir(dir string) string {
	if f.cache != "" {
		return f.cache
	}
	return filepath.Join(filepath.Dir(filepath.Clean(dir)), ".cache")
}

// describeRun is the line a run starts with.
func describeRun(cfg run.Config, d *vk.Device, dir string, rk ranks) string {
	total := fmt.Sprintf("%d epochs", cfg.Epochs)
	if cfg.Steps > 0 {
		total = fmt.Sprintf("%d steps", cfg.Steps)
	}
	m := cfg.Train.Model
	on := d.Info().Name
	if rk.mpirun() {
		on = fmt.Sprintf("%d processes (mpirun; %d of the batch each, rank 0 on %s)", rk.Count(), cfg.Train.Batch/rk.Count(), on)
	}
	return fmt.Sprintf("%s (%d×%d×%d) on %s%s, batch %d, %s, on %s; run folder %s",
		m.Preset, m.Channels, m.Size(), m.Size(), cfg.Data, describeLoss(cfg.Train)+describeAugment(cfg.Train), cfg.Train.Batch, total, on, dir)
}

// describeLoss is how a run's start line names a loss other than BCE and
// a discriminator other than DCGAN's.
func describeLoss(c gan.TrainConfig) string {
	var s string
	if c.Loss != layers.BCE {
		s = fmt.Sprintf(", %s loss", c.Loss)
	}
	if c.Model.SN {
		s += ", spectral norm"
	}
	if c.Model.DNorm == gan.NormNone {
		s += ", no batch norm in D"
	}
	if c.DSteps > 1 {
		s += fmt.Sprintf(", %d D updates a step", c.DSteps)
	}
	if c.Model.Conditional() {
		s += fmt.Sprintf(", conditional on %d classes", c.Model.Classes)
	}
	return s
}

// describeAugment is how a run's start line names its augmentation.
func describeAugment(c gan.TrainConfig) string {
	p := fmt.Sprintf("p %g", c.AugmentP)
	if c.AugmentAuto {
		p = "p adapted from 0"
	}
	switch {
	case c.Augment != 0 && c.Mirror:
		return fmt.Sprintf(" augmented (%s at %s) and mirrored", c.Augment, p)
	case c.Augment != 0:
		return fmt.Sprintf(" augmented (%s at %s)", c.Augment, p)
	case c.Mirror:
		return " mirrored"
	}
	return ""
}

// train runs r until its last step or a signal (with the window, when w is
// open) and prints how it ended.
func train(w *viewer.Window, d *vk.Device, r *run.Run, resume bool, out *progress, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer stopOnSignal(func() {
		out.log("stopping: finishing the step and writing a checkpoint")
		cancel()
	})()
	var step int
	var err error
	if w != nil {
		step, err = trainWithViewer(ctx, cancel, w, d, r, resume, out)
	} else {
		step, err = r.Train(ctx, d, resume)
	}
	out.finish()
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stdout, "stopped at step %d with a checkpoint; continue with: %s\n", step, r.ResumeCommand())
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "trained %d steps; samples in %s, checkpoints in %s\n", step,
		filepath.Join(r.Dir, "samples"), filepath.Join(r.Dir, "checkpoints"))
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
	firstStep int    // the step before the first this process ran
	score     string // the last --score-every score, shown on each line after it
	augment   bool   // the run augments: each line shows the augmentation's p
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

func (p *progress) report(ev run.Event) {
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
	scored := ev.FDRaw != 0
	if scored {
		p.score = fmt.Sprintf("  FD %.2f (raw %.2f) at step %d", ev.FD, ev.FDRaw, ev.Step)
		if ev.FD == 0 { // no EMA generator
			p.score = fmt.Sprintf("  FD %.2f at step %d", ev.FDRaw, ev.Step)
		}
	}
	reduce := ""
	if ev.AllreduceMs > 0 { // a data-parallel run's
		reduce = fmt.Sprintf(" (allreduce %.0f ms a step)", ev.AllreduceMs)
	}
	aug := ""
	if p.augment {
		aug = fmt.Sprintf(" p %.3f", st.AugmentP)
	}
	nums := fmt.Sprintf("d %.3f g %.3f D(x) %.2f D(G(z)) %.2f%s  %.1f img/s%s  ETA %s%s",
		st.DLoss(), st.G, st.DX, st.DGZ, aug, ev.ImagesPerSec, reduce, eta, p.score)
	if p.tty {
		const width = 24
		done := width * ev.Step / max(1, ev.TotalSteps)
		bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
		fmt.Fprintf(p.w, "\r\033[Kstep %d/%d epoch %d [%s] %s", ev.Step, ev.TotalSteps, ev.Epoch+1, bar, nums)
		p.drawn = true
		if scored {
			p.log("score%s", p.score)
		}
		if ev.Checkpoint != "" {
			p.log("checkpoint %s", ev.Checkpoint)
		}
		return
	}
	if ev.Step == 1 || ev.Step == ev.TotalSteps || time.Since(p.lastLine) >= 10*time.Second || ev.Checkpoint != "" || scored {
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
