package live

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/vk"
)

// ViewTarget is what `gan-vk view` was pointed at: a run folder, or one
// checkpoint (inside a run folder's checkpoints/ or anywhere).
type ViewTarget struct {
	Run        string // the run folder; "" for a checkpoint outside one
	Checkpoint string // a fixed checkpoint; "" to follow the run's newest
	Config     gan.TrainConfig
	Weights    gan.Weights // which generator draws (the default: the EMA one when the run keeps it)
}

// OpenViewTarget works out what path names and reads its model.
func OpenViewTarget(path string) (ViewTarget, error) {
	const want = "give a run folder (gan-vk train --run) or a checkpoint file"
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ViewTarget{}, fmt.Errorf("%s does not exist; %s", path, want)
	}
	if err != nil {
		return ViewTarget{}, err
	}
	if st.IsDir() {
		cfg, err := run.ReadConfig(path)
		if err != nil {
			return ViewTarget{}, fmt.Errorf("%v; %s", err, want)
		}
		return ViewTarget{Run: path, Config: cfg.Train}, nil
	}
	c, err := run.ReadCheckpoint(path)
	if err != nil {
		return ViewTarget{}, err
	}
	s, err := c.State()
	if err != nil {
		return ViewTarget{}, err
	}
	v := ViewTarget{Checkpoint: path, Config: s.Config}
	if dir := filepath.Dir(filepath.Clean(path)); filepath.Base(dir) == "checkpoints" {
		if _, err := run.ReadConfig(filepath.Dir(dir)); err == nil {
			v.Run = filepath.Dir(dir)
		}
	}
	return v, nil
}

// follower drives a Live from files: a run folder that another process may
// still be training, or one checkpoint.
type follower struct {
	live   *Live
	dev    *vk.Device
	target ViewTarget

	ckpt    string // the checkpoint loaded
	gen     *gan.Generator
	sampler *gan.Sampler
	z       *explorer
	real    bool
	pngStep int   // the step of the sample PNG shown, -1 for none
	metrics int64 // bytes of metrics.jsonl read
	history []run.Metric
	total   int
}

// Follow drives live from a run folder or checkpoint until ctx ends: the
// newest checkpoint's generator on the device (N and I explore its latent
// space), metrics.jsonl as it grows, and sample grids newer than the
// checkpoint. It polls twice a second.
func Follow(ctx context.Context, d *vk.Device, target ViewTarget, live *Live) error {
	f := &follower{live: live, dev: d, target: target, pngStep: -1}
	defer f.close()
	if target.Run != "" {
		if cfg, err := run.ReadConfig(target.Run); err == nil {
			f.total = cfg.Steps
		}
	}
	live.update(func(s *Snapshot) { s.Training, s.Total = false, f.total })
	for {
		if err := f.poll(); err != nil {
			return err
		}
		tick := 500 * time.Millisecond
		if f.z != nil && f.z.walk {
			tick = 66 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-live.wake:
		case <-time.After(tick):
		}
	}
}

func (f *follower) close() {
	if f.sampler != nil {
		f.sampler.Close()
		f.sampler = nil
	}
	if f.gen != nil {
		f.gen.Close()
		f.gen = nil
	}
}

func (f *follower) poll() error {
	if err := f.readMetrics(); err != nil {
		return err
	}
	fresh, err := f.loadNewest()
	if err != nil {
		return err
	}
	w := f.live.wants()
	changed := fresh
	if f.z != nil {
		moved, err := f.z.follow(w)
		if err != nil {
			return err
		}
		changed = changed || moved
	}
	if w.real != f.real {
		f.real, changed = w.real, true
	}
	switch {
	case f.real:
		if changed {
			return f.showReal()
		}
	case f.z != nil && f.z.walk:
		if err := f.z.advance(walkStep); err != nil {
			return err
		}
		return f.showGenerator()
	default:
		if changed {
			f.pngStep = -1
		}
		// Following a run, a sample grid newer than the checkpoint shows
		// where training is; a named checkpoint shows its own grid.
		if step, path := f.newestSample(); f.target.Checkpoint == "" && step > f.gen0Step() && step > f.pngStep && w.draws == 0 {
			return f.showPNG(path, step)
		}
		if changed && f.sampler != nil {
			return f.showGenerator()
		}
	}
	return nil
}

func (f *follower) gen0Step() int {
	if f.gen == nil {
		return -1
	}
	return f.gen.Step
}

// loadNewest loads the run's newest checkpoint when it changed (or the
// fixed one, once) and says whether it did.
func (f *follower) loadNewest() (bool, error) {
	path := f.target.Checkpoint
	if path == "" {
		files, err := run.Checkpoints(filepath.Join(f.target.Run, "checkpoints"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		if len(files) == 0 {
			if f.gen == nil && f.pngStep < 0 {
				f.live.SetStatus("waiting for %s's first checkpoint or sample grid", f.target.Run)
			}
			return false, nil
		}
		path = files[len(files)-1]
	}
	if path == f.ckpt {
		return false, nil
	}
	c, err := run.ReadCheckpoint(path)
	if err != nil {
		if f.target.Checkpoint != "" {
			return false, err
		}
		// Being written, or damaged: keep what is shown and say so.
		f.live.SetStatus("cannot read %s: %v", filepath.Base(path), err)
		f.ckpt = path
		return false, nil
	}
	g, err := run.LoadGenerator(f.dev, c, f.target.Weights)
	if err != nil {
		return false, err
	}
	s, err := g.NewSampler(f.dev, gridImages, g.Config.Seed, false)
	if err == nil {
		if err = f.live.classRows(s, g.Config.Seed); err != nil {
			s.Close()
		}
	}
	if err != nil {
		g.Close()
		return false, err
	}
	f.close()
	f.gen, f.sampler, f.ckpt = g, s, path
	f.z = newLatent(s, g.Config.Seed)
	if _, err := f.z.follow(f.live.wants()); err != nil { // the new generator, at the z asked for
		return false, err
	}
	f.live.SetStatus("")
	return true, nil
}

func (f *follower) showGenerator() error {
	if err := f.sampler.Run(); err != nil {
		return err
	}
	return f.live.show(f.sampler.Output(), gridImages, f.gen.Step, f.z.label+", "+filepath.Base(f.ckpt), false)
}

func (f *follower) readMetrics() error {
	if f.target.Run == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(f.target.Run, "metrics.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if int64(len(b)) < f.metrics { // rewritten by a resume: start again
		f.metrics, f.history = 0, nil
	}
	ms, used := run.ParseMetrics(b[f.metrics:])
	if len(ms) == 0 {
		return nil
	}
	f.metrics += int64(used)
	f.history = append(f.history, ms...)
	last := ms[len(ms)-1]
	f.live.update(func(s *Snapshot) {
		s.History = f.history
		s.Step, s.Epoch, s.ImgPerS = last.Step, last.Epoch, last.ImagesPerSec
		if f.total == 0 || s.Total < last.Step {
			s.Total = max(f.total, last.Step)
		}
	})
	return nil
}

// newestSample finds the run's newest samples/step_NNNNNN.png.
func (f *follower) newestSample() (int, string) {
	if f.target.Run == "" {
		return -1, ""
	}
	names, _ := filepath.Glob(filepath.Join(f.target.Run, "samples", "step_*.png"))
	best, path := -1, ""
	for _, n := range names {
		s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "step_"), ".png")
		if step, err := strconv.Atoi(s); err == nil && step > best {
			best, path = step, n
		}
	}
	return best, path
}

func (f *follower) showPNG(path string, step int) error {
	imgs, n, err := gan.ReadGrid(path, f.target.Config.Model.Channels, f.target.Config.Model.Size())
	if err != nil {
		// Half written by a process without atomic writes, or not ours: skip it.
		f.live.SetStatus("cannot read %s: %v", filepath.Base(path), err)
		f.pngStep = step
		return nil
	}
	f.pngStep = step
	return f.live.showFloats(imgs, n, step, filepath.Join("samples", filepath.Base(path)), false)
}

func (f *follower) showReal() error {
	path := filepath.Join(f.target.Run, "samples", "real.png")
	imgs, n, err := gan.ReadGrid(path, f.target.Config.Model.Channels, f.target.Config.Model.Size())
	if err != nil {
		f.live.SetStatus("no real images to show: %v", err)
		return nil
	}
	return f.live.showFloats(imgs, n, 0, "samples/real.png", true)
}
