package gan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gan-vk/gan-vk/vk"
	"github.com/google/uuid"
)

// RunConfig is everything a training run needs, written to config.json so
// that --resume continues it exactly.
type RunConfig struct {
	Train             TrainConfig `json:"train"`
	Data              string      `json:"data"`
	Crop              string      `json:"crop"`
	Steps             int         `json:"steps"`  // total steps of the run; 0: Epochs decides
	Epochs            int         `json:"epochs"` // total epochs when Steps is 0
	SampleEvery       int         `json:"sample_every"`
	CheckpointEvery   int         `json:"checkpoint_every"`
	CheckpointMinutes float64     `json:"checkpoint_minutes"`
	Keep              int         `json:"keep"`
}

// Event is what the run reports after each step, for a progress bar or a
// log line.
type Event struct {
	Step, TotalSteps        int
	Epoch, StepsPerEpoch    int
	Stats                   Stats
	ImagesPerSec, MsPerStep float64
	Elapsed                 time.Duration
	Sample, Checkpoint      string // files written after this step, if any
}

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step         int     `json:"step"`
	Epoch        float64 `json:"epoch"`
	DLoss        float32 `json:"d_loss"`
	GLoss        float32 `json:"g_loss"`
	DX           float32 `json:"d_x"`
	DGZ          float32 `json:"d_g_z"`
	ImagesPerSec float64 `json:"images_per_sec"`
	MsPerStep    float64 `json:"ms_per_step"`
}

// Run is a training run in its folder.
type Run struct {
	Dir      string
	Config   RunConfig
	Log      func(format string, args ...any) // notes for the user: data, resume, files
	Report   func(Event)                      // after every step
	CacheDir string                           // where decoded image folders are cached
	// Live, when set, is fed after every step for a viewer: the grid,
	// the curves, and the viewer's requests (pause, new z, walk, real).
	Live *Live
}

// NewRunName names a new run: its start time and a short random id, so
// runs sort by time and two started in the same second do not collide.
func NewRunName(now time.Time) string {
	return now.Format("20060102-150405") + "-" + uuid.NewString()[:8]
}

// ErrDiverged is returned when a loss becomes NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Paths inside a run folder.
func (r *Run) configPath() string     { return filepath.Join(r.Dir, "config.json") }
func (r *Run) metricsPath() string    { return filepath.Join(r.Dir, "metrics.jsonl") }
func (r *Run) samplesDir() string     { return filepath.Join(r.Dir, "samples") }
func (r *Run) checkpointsDir() string { return filepath.Join(r.Dir, "checkpoints") }

// ReadRunConfig reads a run folder's config.json.
func ReadRunConfig(dir string) (RunConfig, error) {
	var c RunConfig
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c, fmt.Errorf("%s is not a gan-vk run folder (no config.json)", dir)
		}
		return c, err
	}
	return parseRunConfig(b, filepath.Join(dir, "config.json"))
}

// parseRunConfig reads config.json's bytes; path names it in errors.
func parseRunConfig(b []byte, path string) (RunConfig, error) {
	var c RunConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	if dec.More() {
		return c, fmt.Errorf("%s: more than one JSON object", path)
	}
	if err := c.Check(); err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	if len(c.Train.Kernels) == 0 {
		c.Train.Kernels = nil // as written back: an empty record is omitted
	}
	return c, nil
}

// Check reports a run configuration that cannot run.
func (c RunConfig) Check() error {
	if err := c.Train.Check(); err != nil {
		return err
	}
	switch {
	case c.Steps < 0 || c.Epochs < 0:
		return fmt.Errorf("steps %d and epochs %d must not be negative", c.Steps, c.Epochs)
	case c.Steps == 0 && c.Epochs == 0:
		return fmt.Errorf("give --steps or --epochs")
	case c.SampleEvery < 0 || c.CheckpointEvery < 0 || c.CheckpointMinutes < 0:
		return fmt.Errorf("--sample-every, --checkpoint-every and --checkpoint-minutes must not be negative")
	case c.Keep < 1:
		return fmt.Errorf("--keep %d must be at least 1", c.Keep)
	}
	return nil
}

// NewestCheckpoint finds the newest checkpoint in a run folder that reads
// whole, noting each newer one it had to pass over.
func NewestCheckpoint(dir string, log func(string, ...any)) (*Checkpoint, error) {
	files, err := Checkpoints(filepath.Join(dir, "checkpoints"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for i := len(files) - 1; i >= 0; i-- {
		c, err := ReadCheckpoint(files[i])
		if err == nil {
			return c, nil
		}
		if log != nil {
			log("passing over %s: %v", files[i], err)
		}
	}
	return nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, filepath.Join(dir, "checkpoints"))
}

// Train runs (or, with resume, continues) the run until its last step or
// until ctx is cancelled; either way it ends with a checkpoint. It returns
// the step it reached.
func (r *Run) Train(ctx context.Context, d *vk.Device, resume bool) (int, error) {
	logf := r.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cfg := r.Config
	if err := cfg.Check(); err != nil {
		return 0, err
	}
	ds, err := OpenDataset(DataOptions{Path: cfg.Data, Size: cfg.Train.Model.Size(), Crop: cfg.Crop, CacheDir: r.CacheDir, Log: logf})
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	if ds.C != cfg.Train.Model.Channels {
		return 0, fmt.Errorf("the data has %d channels, the run's model %d", ds.C, cfg.Train.Model.Channels)
	}
	loader, err := NewLoader(ds, cfg.Train.Batch, cfg.Train.Seed)
	if err != nil {
		return 0, err
	}
	total := cfg.Steps
	if total == 0 {
		total = cfg.Epochs * loader.StepsPerEpoch()
	}
	t, err := NewTrainer(d, cfg.Train)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} { // once there is something to write
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
	}
	if resume {
		for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} {
			removeStale(dir, logf)
		}
		files, _ := Checkpoints(r.checkpointsDir())
		if len(files) == 0 {
			// Stopped before its first checkpoint: nothing was kept, and
			// starting again from the seed is the same run.
			logf("%s has no checkpoint yet; starting it from step 0", r.Dir)
		} else {
			c, err := NewestCheckpoint(r.Dir, logf)
			if err != nil {
				return 0, err
			}
			if err := t.Load(c); err != nil {
				return 0, err
			}
			logf("resuming %s at step %d from %s", r.Dir, t.Steps(), c.Path)
		}
	}
	if err := r.writeConfig(); err != nil { // on resume: the totals may have changed
		return 0, err
	}
	metrics, err := r.openMetrics(t.Steps())
	if err != nil {
		return 0, err
	}
	defer metrics.Close()
	sampler, err := t.NewSampler(64)
	if err != nil {
		return 0, err
	}
	defer sampler.Close()
	var feed *trainFeed
	if r.Live != nil {
		history, err := readMetrics(r.metricsPath())
		if err != nil {
			return 0, err
		}
		if feed, err = newTrainFeed(r.Live, t, history, total); err != nil {
			return 0, err
		}
		defer feed.Close()
	}
	batch := make([][]float32, 2)
	for i := range batch {
		batch[i] = make([]float32, t.Real().Size()/4)
	}
	if t.Steps() == 0 {
		if err := loader.Batch(0, batch[0]); err != nil {
			return 0, err
		}
		n := min(64, cfg.Train.Batch)
		if err := WritePNG(filepath.Join(r.samplesDir(), "real.png"), Grid(batch[0], n, ds.C, ds.S, 8)); err != nil {
			return 0, err
		}
	}
	type loaded struct {
		step int
		err  error
	}
	next := make(chan loaded, 1)
	load := func(step int) {
		go func() { next <- loaded{step, loader.Batch(step, batch[step%2])} }()
	}
	if t.Steps() < total {
		load(t.Steps())
	}
	start := time.Now()
	lastCkpt := time.Now()
	ckptPath := ""
	// save writes a checkpoint; its error is the one to stop the run with.
	save := func() (string, error) {
		p := filepath.Join(r.checkpointsDir(), checkpointName(t.Steps()))
		err := t.Save(p, map[string]string{"epoch": strconv.Itoa(t.Steps() / loader.StepsPerEpoch()),
			"data_step": strconv.Itoa(t.Steps() % loader.StepsPerEpoch())})
		if err == nil {
			lastCkpt = time.Now()
			ckptPath = p
			err = r.prune()
		}
		switch {
		case errors.Is(err, ErrDiverged):
			return "", r.diverged(fmt.Sprintf("by step %d: %v", t.Steps(), err))
		case err != nil:
			return "", r.writeFailed(err)
		}
		return p, nil
	}
	for t.Steps() < total {
		step := t.Steps()
		got := <-next
		if got.err != nil {
			return step, got.err
		}
		t0 := time.Now()
		if err := t.Real().Upload(0, vk.Float32Bytes(batch[step%2])); err != nil {
			return step, err
		}
		if step+1 < total {
			load(step + 1)
		}
		st, err := t.Step()
		if err != nil {
			return step, err
		}
		dt := time.Since(t0)
		if !finite([]float32{st.DReal, st.DFake, st.G, st.DX, st.DGZ}) {
			return step, r.diverged(fmt.Sprintf("at step %d: d_loss %g, g_loss %g", step+1, st.DLoss(), st.G))
		}
		ev := Event{Step: t.Steps(), TotalSteps: total, Epoch: step / loader.StepsPerEpoch(), StepsPerEpoch: loader.StepsPerEpoch(),
			Stats: st, MsPerStep: float64(dt.Microseconds()) / 1000, ImagesPerSec: float64(cfg.Train.Batch) / dt.Seconds(),
			Elapsed: time.Since(start)}
		metric := Metric{Step: t.Steps(), Epoch: float64(t.Steps()) / float64(loader.StepsPerEpoch()),
			DLoss: st.DLoss(), GLoss: st.G, DX: st.DX, DGZ: st.DGZ, ImagesPerSec: round3(ev.ImagesPerSec), MsPerStep: round3(ev.MsPerStep)}
		if err := metrics.add(metric); err != nil {
			return t.Steps(), err
		}
		last := t.Steps() == total
		if cfg.SampleEvery > 0 && t.Steps()%cfg.SampleEvery == 0 || last {
			if ev.Sample, err = r.writeSample(sampler, t.Steps()); err != nil {
				return t.Steps(), r.writeFailed(err)
			}
		}
		stopping := ctx.Err() != nil
		if cfg.CheckpointEvery > 0 && t.Steps()%cfg.CheckpointEvery == 0 || last || stopping ||
			cfg.CheckpointMinutes > 0 && time.Since(lastCkpt).Minutes() >= cfg.CheckpointMinutes {
			if ev.Checkpoint, err = save(); err != nil {
				return t.Steps(), err
			}
		}
		if r.Report != nil {
			r.Report(ev)
		}
		if feed != nil && !stopping {
			if err := feed.afterStep(ctx, metric, ev); err != nil {
				return t.Steps(), err
			}
			// A quit from the viewer (or a signal) while paused: checkpoint now.
			if ctx.Err() != nil && ev.Checkpoint == "" {
				if _, err := save(); err != nil {
					return t.Steps(), err
				}
				stopping = true
			}
		}
		if stopping {
			return t.Steps(), ctx.Err()
		}
	}
	if ckptPath == "" { // resumed at the end: nothing to do, but say where it stands
		logf("%s has already run its %d steps", r.Dir, total)
	}
	return t.Steps(), nil
}

// writeFailed is the error for a run that could not write a checkpoint or a
// sample grid: training stops there, and what the folder held stays as it
// was (every write goes to a temporary file first). Out of space, over a
// quota or a file-size limit, or a folder it may not write get a hint.
func (r *Run) writeFailed(err error) error {
	last := "no checkpoint yet"
	if c, cerr := NewestCheckpoint(r.Dir, nil); cerr == nil {
		last = "its last checkpoint " + c.Path + " is whole"
	}
	why := ""
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		why = "free some space, then "
	case errors.Is(err, syscall.EROFS), errors.Is(err, fs.ErrPermission):
		why = fmt.Sprintf("make %s writable, then ", r.Dir)
	}
	return fmt.Errorf("%w; training stopped and %s: %scontinue with: gan-vk train --resume %s", err, last, why, r.Dir)
}

// removeStale deletes the temporary files writeAtomic leaves in dir when
// the process dies while writing (".<name>.tmp-<random>"): nothing ever
// reads them, and a run killed often would collect them.
func removeStale(dir string, logf func(string, ...any)) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") && e.Type().IsRegular() {
			if os.Remove(filepath.Join(dir, n)) == nil {
				logf("removed %s, left by a write that did not finish", filepath.Join(dir, n))
			}
		}
	}
}

// diverged is the error for a run whose numbers went NaN or infinite: it
// names the last good checkpoint, which the run never overwrites with bad
// values, and what to try.
func (r *Run) diverged(what string) error {
	last := "no checkpoint was written before it"
	if c, err := NewestCheckpoint(r.Dir, nil); err == nil {
		last = "the last good checkpoint is " + c.Path
	}
	return fmt.Errorf("%w %s; %s; start a new run with a lower --lr (this one has %g)", ErrDiverged, what, last, r.Config.Train.LR)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func (r *Run) writeSample(s *Sampler, step int) (string, error) {
	imgs, err := s.Images()
	if err != nil {
		return "", err
	}
	p := filepath.Join(r.samplesDir(), fmt.Sprintf("step_%06d.png", step))
	return p, WritePNG(p, Grid(imgs, s.N, s.C, s.S, 8))
}

func (r *Run) writeConfig() error {
	b, err := json.MarshalIndent(r.Config, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return err
	}
	return writeAtomic(r.configPath(), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// prune keeps the newest Keep checkpoints.
func (r *Run) prune() error {
	files, err := Checkpoints(r.checkpointsDir())
	if err != nil {
		return err
	}
	for i := 0; i < len(files)-r.Config.Keep; i++ {
		if err := os.Remove(files[i]); err != nil {
			return err
		}
	}
	return nil
}

// readMetrics reads the whole lines of a metrics.jsonl; a missing file has
// none, and reading stops at a line that does not parse (one being written).
func readMetrics(path string) ([]Metric, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ms, _ := parseMetrics(b)
	return ms, nil
}

// parseMetrics parses the whole lines of b and says how many bytes they took.
func parseMetrics(b []byte) ([]Metric, int) {
	var out []Metric
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			return out, used
		}
		var m Metric
		if json.Unmarshal(b[used:used+i], &m) != nil {
			return out, used
		}
		out = append(out, m)
		used += i + 1
	}
}

// metricsFile appends lines to metrics.jsonl.
type metricsFile struct {
	f *os.File
}

// openMetrics opens metrics.jsonl for appending after step: lines of later
// steps (logged after the checkpoint a resume starts from, and about to be
// run again) and a partial last line are dropped.
func (r *Run) openMetrics(step int) (*metricsFile, error) {
	path := r.metricsPath()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		var m Metric
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Step > step {
			break
		}
		keep.Write(sc.Bytes())
		keep.WriteByte('\n')
	}
	if keep.Len() != len(old) {
		if err := os.WriteFile(path, keep.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsFile{f}, nil
}

func (m *metricsFile) add(v Metric) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = m.f.Write(append(b, '\n'))
	return err
}

func (m *metricsFile) Close() error { return m.f.Close() }
