package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/tune"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

const tuneSynopsis = `tune [--preset dcgan28|dcgan64|… | --size N] [--batch 64] [--budget 1m] [--device D]

Finds the fastest kernel configuration of each GEMM pass of a training
step on the device, as torch.backends.cudnn.benchmark does: the candidates
(the register or shared-memory form, the workgroup, the block each
invocation computes, texel or storage loads, the reduction's split) are
timed briefly, the built-in choice first, clear losers after one run, the
passes with the largest share of the step first. The winners go to a
cache in the user's cache folder ($XDG_CACHE_HOME/gan-vk, else
~/.cache/gan-vk), one file per device and driver, written after each
pass, so a tune cut short keeps what it found; train and bench use it for
the shapes it has and the built-in choice (the heuristic) for the rest.
When --budget runs out the best found so far is kept. A run records the
configuration of every pass in its config.json, and --resume builds
exactly those.`

// defaultBudget is how long tune takes when --budget is not given: on a
// GPU a minute covers the big passes' likely winners; lavapipe's passes
// take seconds a candidate.
func defaultBudget(info vk.DeviceInfo) time.Duration {
	if info.Type == vk.TypeCPU {
		return 10 * time.Minute
	}
	return time.Minute
}

func runTune(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("tune", tuneSynopsis, stdout, stderr)
	model := newSyntheticFlags(fs)
	most := fs.Int("max-candidates", 0, "time at most this many configurations of each pass, the built-in choice first (0: all); a quick tune")
	budget := fs.Duration("budget", 0, "time the whole tune may take, such as 90s or 5m; the best found so far is kept when it runs out (0: 1m on a GPU, 10m on a CPU device)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *most < 0 {
		return &usageError{"--max-candidates must not be negative"}
	}
	if *budget < 0 {
		return &usageError{"--budget must not be negative"}
	}
	cfg, err := model.config()
	if err != nil {
		return err
	}
	d, err := openDevice(*model.device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	cache, err := tuneKernels(d, cfg, tune.Options{MaxCandidates: *most, Budget: *budget}, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tuned kernels saved in %s\n", cache.Path)
	return nil
}

// syntheticFlags are the flags of bench and tune that say which model
// they measure, with Adam's defaults; config reads them.
type syntheticFlags struct {
	fs                                    *flag.FlagSet
	preset                                *string
	channels, batch, gSteps, gf, df, size *int
	ema                                   *float64
	device                                *string
}

func newSyntheticFlags(fs *flag.FlagSet) syntheticFlags {
	return syntheticFlags{
		fs:       fs,
		preset:   fs.String("preset", "dcgan28", "model: dcgan28, or the DCGAN family dcgan32, dcgan64, dcgan128, dcgan256"),
		size:     fs.Int("size", 0, "image side for the DCGAN family: 32, 64, 128 or 256 (picks dcgan<size>)"),
		channels: fs.Int("channels", 0, "image channels (default: 1 for dcgan28, 3 for the DCGAN family)"),
		batch:    fs.Int("batch", 64, "batch size"),
		gSteps:   fs.Int("g-steps", 2, "generator updates per step"),
		ema:      fs.Float64("ema", defaultEMA, "decay of the EMA generator the step moves (0: none), as train's --ema"),
		gf:       fs.Int("gf", 0, "generator width (default: the preset's)"),
		df:       fs.Int("df", 0, "discriminator width (default: the preset's)"),
		device:   fs.String("device", "", "Vulkan device: an index or part of a name (gan-vk devices lists them)"),
	}
}

func (f syntheticFlags) config() (gan.TrainConfig, error) {
	preset := *f.preset
	if *f.size != 0 {
		given := ""
		f.fs.Visit(func(fl *flag.Flag) {
			if fl.Name == "preset" {
				given = preset
			}
		})
		var err error
		if preset, err = gan.SizedPreset(given, *f.size); err != nil {
			return gan.TrainConfig{}, &usageError{err.Error()}
		}
	}
	channels := *f.channels
	if channels == 0 {
		channels = 1
		if preset != "dcgan28" {
			channels = 3
		}
	}
	m, err := gan.DefaultModel(preset, channels)
	if err != nil {
		return gan.TrainConfig{}, &usageError{err.Error()}
	}
	if *f.gf < 0 || *f.df < 0 {
		return gan.TrainConfig{}, &usageError{"--gf and --df must be positive"}
	}
	if *f.gf > 0 {
		m.GF = *f.gf
	}
	if *f.df > 0 {
		m.DF = *f.df
	}
	cfg := gan.TrainConfig{Model: m, Batch: *f.batch, LR: 2e-4, Beta1: 0.5, GSteps: *f.gSteps, Seed: 1, EMA: float32(*f.ema)}
	if err := cfg.Check(); err != nil {
		return cfg, &usageError{err.Error()}
	}
	return cfg, nil
}

// loadTuneCache reads the device's tuning cache, warning on stderr (one
// line) when it cannot be used; it is nil, with a warning, where the
// system has no cache folder.
func loadTuneCache(info vk.DeviceInfo, stderr io.Writer) *tune.Cache {
	warn := warnTo(stderr)
	dir, err := tune.CacheDir()
	if err != nil {
		warn(err.Error() + "; using the built-in kernel choice")
		return nil
	}
	return tune.LoadCache(dir, info, warn)
}

// warnTo prints a warning as one line on stderr.
func warnTo(stderr io.Writer) func(string) {
	return func(msg string) { fmt.Fprintf(stderr, "warning: %s\n", msg) }
}

// kernelTiles is where a new run or a bench takes each pass's tile from
// before the heuristic: the device's tuning cache, when there is one.
func kernelTiles(info vk.DeviceInfo, stderr io.Writer) layers.Tiler {
	if c := loadTuneCache(info, stderr); c != nil {
		return c
	}
	return nil
}

// tuneKernels tunes cfg's passes on d within opts.Budget (defaultBudget
// where zero), printing each pass's winner against the heuristic's tile
// and a line for each candidate that failed, and saves each pass in the
// device's cache as soon as it is done.
func tuneKernels(d *vk.Device, cfg gan.TrainConfig, opts tune.Options, stdout, stderr io.Writer) (*tune.Cache, error) {
	info := d.Info()
	dir, err := tune.CacheDir()
	if err != nil {
		return nil, err
	}
	if opts.Budget == 0 {
		opts.Budget = defaultBudget(info)
	}
	cache := tune.LoadCache(dir, info, warnTo(stderr))
	m := cfg.Model
	fmt.Fprintf(stdout, "tuning the GEMM passes of %s (%d×%d×%d) at batch %d on %s (%s %s) for at most %v\n",
		m.Preset, m.Channels, m.Size(), m.Size(), cfg.Batch, info.Name, info.DriverName, info.DriverInfo, opts.Budget)
	start := time.Now()
	var before, after time.Duration
	passes := 0 // the step's distinct passes, as Run counts them
	opts.Progress = func(i, n int, p layers.Pass, r *tune.Result) {
		passes = n
		if r == nil {
			return
		}
		where := r.Layers[0]
		if len(r.Layers) > 1 {
			where += fmt.Sprintf(" (+%d)", len(r.Layers)-1)
		}
		runs := time.Duration(len(r.Layers))
		verdict := "the heuristic's"
		switch {
		case r.HeuristicT == 0:
			verdict = fmt.Sprintf("the heuristic's %v failed", r.Heuristic)
		case r.Best != r.Heuristic:
			verdict = fmt.Sprintf("%.2f× the heuristic's %v (%s)", r.Speedup(), r.Heuristic, ms(r.HeuristicT))
		}
		if r.HeuristicT > 0 {
			before += r.HeuristicT * runs
			after += r.BestT * runs
		}
		more := ""
		if r.Failed > 0 {
			more += fmt.Sprintf(", %d failed", r.Failed)
		}
		if r.OutOfTime {
			more += "; out of time"
		}
		fmt.Fprintf(stdout, "[%2d/%d] %-44s %-36v %9s  %s; %d timed (%d dropped after one run), %d skipped%s\n",
			i+1, n, where, r.Best, ms(r.BestT), verdict, r.Tried, r.Dropped, r.Skipped, more)
	}
	opts.Failed = func(p layers.Pass, t layers.Tile, err error) {
		fmt.Fprintf(stdout, "       skipped %v for %s: %s\n", t, p, oneLine(err))
	}
	opts.Keep = func(r tune.Result) error {
		cache.Add([]tune.Result{r}, time.Now())
		return cache.Save(info)
	}
	results, err := tune.Run(d, cfg, opts)
	if err != nil {
		return nil, err
	}
	if left := passes - len(results); left > 0 {
		fmt.Fprintf(stdout, "the budget ran out: %d smaller passes were not tuned and keep the heuristic's tiles (give more --budget to tune them)\n", left)
	}
	fmt.Fprintf(stdout, "tuned %d passes in %s: where both ran, the step's GEMM passes (each counted once per layer and phase) take %s with the tuned kernels, %s with the heuristic's (%.2f×)\n",
		len(results), time.Since(start).Round(time.Second), ms(after), ms(before), float64(before)/float64(max(after, 1)))
	if err := cache.Save(info); err != nil {
		return nil, err
	}
	return cache, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }
