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

// StepDone is what the run loop hands its observers after each step, in
// order: the observers before the report fill in the files they wrote.
type StepDone struct {
	Event
	Metric   Metric
	Last     bool // the run's last step
	Stopping bool // ctx was cancelled before the observers ran: the run stops after this step
}

// An observer is handed each step after it ran; an error stops the run.
type observer interface {
	afterStep(ctx context.Context, s *StepDone) error
}

// observerFunc makes a function an observer.
type observerFunc func(ctx context.Context, s *StepDone) error

func (f observerFunc) afterStep(ctx context.Context, s *StepDone) error { return f(ctx, s) }

// Train runs (or, with resume, continues) the run until its last step or
// until ctx is cancelled; either way it ends with a checkpoint. It returns
// the step it reached. Each step goes to the observers in order: the
// metrics line, the sample grid, the checkpoint, the report, the live feed.
func (r *Run) Train(ctx context.Context, d *vk.Device, resume bool) (int, error) {
	l, err := r.start(d, resume)
	if err != nil {
		return 0, err
	}
	defer l.close()
	t := l.t
	for t.Steps() < l.total {
		before := t.Steps()
		done, err := l.step()
		if err != nil {
			return before, err
		}
		done.Stopping = ctx.Err() != nil
		for _, o := range l.observers {
			if err := o.afterStep(ctx, done); err != nil {
				return t.Steps(), err
			}
		}
		if ctx.Err() != nil { // a signal, or a quit from the viewer
			return t.Steps(), l.ckpt.stop(ctx, done)
		}
	}
	if l.ckpt.path == "" { // resumed at the end: nothing to do, but say where it stands
		l.logf("%s has already run its %d steps", r.Dir, l.total)
	}
	return t.Steps(), nil
}

// loop is a run being trained: what Train sets up and its loop steps.
type loop struct {
	r         *Run
	logf      func(string, ...any)
	t         *Trainer
	loader    *Loader
	total     int
	batches   *prefetch
	start     time.Time
	ckpt      *checkpointer
	observers []observer
	closers   []func()
}

func (l *loop) close() {
	for i := len(l.closers) - 1; i >= 0; i-- {
		l.closers[i]()
	}
}

// start opens the data, builds the trainer (from the newest checkpoint on
// resume), writes config.json and sets up the observers.
func (r *Run) start(d *vk.Device, resume bool) (*loop, error) {
	l := &loop{r: r, logf: r.Log}
	if l.logf == nil {
		l.logf = func(string, ...any) {}
	}
	ok := false
	defer func() {
		if !ok { // undo what was built
			l.close()
		}
	}()
	cfg := r.Config
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ds, err := OpenDataset(DataOptions{Path: cfg.Data, Size: cfg.Train.Model.Size(), Crop: cfg.Crop, CacheDir: r.CacheDir, Log: l.logf})
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { ds.Close() })
	if ds.C != cfg.Train.Model.Channels {
		return nil, fmt.Errorf("the data has %d channels, the run's model %d", ds.C, cfg.Train.Model.Channels)
	}
	if l.loader, err = NewLoader(ds, cfg.Train.Batch, cfg.Train.Seed); err != nil {
		return nil, err
	}
	l.total = cfg.Steps
	if l.total == 0 {
		l.total = cfg.Epochs * l.loader.StepsPerEpoch()
	}
	if l.t, err = NewTrainer(d, cfg.Train); err != nil {
		return nil, err
	}
	l.closers = append(l.closers, l.t.Close)
	for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} { // once there is something to write
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if resume {
		if err := r.resume(l.t, l.logf); err != nil {
			return nil, err
		}
	}
	if err := r.writeConfig(); err != nil { // on resume: the totals may have changed
		return nil, err
	}
	if err := l.observe(); err != nil {
		return nil, err
	}
	l.batches = newPrefetch(l.loader, l.t.Real().Size()/4)
	if l.t.Steps() == 0 {
		if err := r.writeReal(l.loader, ds); err != nil {
			return nil, err
		}
	}
	if l.t.Steps() < l.total {
		l.batches.load(l.t.Steps())
	}
	l.start = time.Now()
	ok = true
	return l, nil
}

// observe sets up the observers, in the order they see each step.
func (l *loop) observe() error {
	r, t := l.r, l.t
	metrics, err := r.openMetrics(t.Steps())
	if err != nil {
		return err
	}
	l.closers = append(l.closers, func() { metrics.Close() })
	sampler, err := t.NewSampler(64)
	if err != nil {
		return err
	}
	l.closers = append(l.closers, sampler.Close)
	l.ckpt = &checkpointer{r: r, t: t, perEpoch: l.loader.StepsPerEpoch(), last: time.Now()}
	l.observers = []observer{
		observerFunc(func(_ context.Context, s *StepDone) error { return metrics.add(s.Metric) }),
		observerFunc(func(_ context.Context, s *StepDone) error {
			if r.Config.SampleEvery > 0 && s.Step%r.Config.SampleEvery == 0 || s.Last {
				var err error
				if s.Sample, err = r.writeSample(sampler, s.Step); err != nil {
					return r.writeFailed(err)
				}
			}
			return nil
		}),
		l.ckpt,
	}
	if r.Report != nil {
		l.observers = append(l.observers, observerFunc(func(_ context.Context, s *StepDone) error { r.Report(s.Event); return nil }))
	}
	if r.Live != nil {
		history, err := readMetrics(r.metricsPath())
		if err != nil {
			return err
		}
		feed, err := newTrainFeed(r.Live, t, history, l.total)
		if err != nil {
			return err
		}
		l.closers = append(l.closers, feed.Close)
		l.observers = append(l.observers, feed)
	}
	return nil
}

// step trains one step on the batch the prefetch has ready, starting the
// next one's, and says what it did.
func (l *loop) step() (*StepDone, error) {
	t, step := l.t, l.t.Steps()
	batch, err := l.batches.wait(step)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := t.Real().Upload(0, vk.Float32Bytes(batch)); err != nil {
		return nil, err
	}
	if step+1 < l.total {
		l.batches.load(step + 1)
	}
	st, err := t.Step()
	if err != nil {
		return nil, err
	}
	dt := time.Since(t0)
	if !finite([]float32{st.DReal, st.DFake, st.G, st.DX, st.DGZ}) {
		return nil, l.r.diverged(fmt.Sprintf("at step %d: d_loss %g, g_loss %g", step+1, st.DLoss(), st.G))
	}
	perEpoch := l.loader.StepsPerEpoch()
	ev := Event{Step: t.Steps(), TotalSteps: l.total, Epoch: step / perEpoch, StepsPerEpoch: perEpoch,
		Stats: st, MsPerStep: float64(dt.Microseconds()) / 1000, ImagesPerSec: float64(t.Config.Batch) / dt.Seconds(),
		Elapsed: time.Since(l.start)}
	m := Metric{Step: t.Steps(), Epoch: float64(t.Steps()) / float64(perEpoch),
		DLoss: st.DLoss(), GLoss: st.G, DX: st.DX, DGZ: st.DGZ, ImagesPerSec: round3(ev.ImagesPerSec), MsPerStep: round3(ev.MsPerStep)}
	return &StepDone{Event: ev, Metric: m, Last: t.Steps() == l.total}, nil
}

// resume loads the newest checkpoint of the run folder into t, after
// removing what interrupted writes left.
func (r *Run) resume(t *Trainer, logf func(string, ...any)) error {
	for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} {
		removeStale(dir, logf)
	}
	if files, _ := Checkpoints(r.checkpointsDir()); len(files) == 0 {
		// Stopped before its first checkpoint: nothing was kept, and
		// starting again from the seed is the same run.
		logf("%s has no checkpoint yet; starting it from step 0", r.Dir)
		return nil
	}
	c, err := NewestCheckpoint(r.Dir, logf)
	if err != nil {
		return err
	}
	if err := t.Load(c); err != nil {
		return err
	}
	logf("resuming %s at step %d from %s", r.Dir, t.Steps(), c.Path)
	return nil
}

// writeReal writes a grid of the first batch, samples/real.png.
func (r *Run) writeReal(loader *Loader, ds *Dataset) error {
	batch := make([]float32, loader.batch*ds.imageBytes())
	if err := loader.Batch(0, batch); err != nil {
		return err
	}
	n := min(64, loader.batch)
	return WritePNG(filepath.Join(r.samplesDir(), "real.png"), Grid(batch, n, ds.C, ds.S, 8))
}

// prefetch prepares the next step's batch on a goroutine while the device
// runs this one, in one of two buffers.
type prefetch struct {
	loader *Loader
	bufs   [2][]float32
	next   chan loaded
}

type loaded struct {
	step int
	err  error
}

func newPrefetch(l *Loader, floats int) *prefetch {
	return &prefetch{loader: l, bufs: [2][]float32{make([]float32, floats), make([]float32, floats)}, next: make(chan loaded, 1)}
}

// load starts preparing step's batch.
func (p *prefetch) load(step int) {
	go func() { p.next <- loaded{step, p.loader.Batch(step, p.bufs[step%2])} }()
}

// wait returns step's batch once it is ready.
func (p *prefetch) wait(step int) ([]float32, error) {
	got := <-p.next
	return p.bufs[step%2], got.err
}

// checkpointer writes the run's checkpoints: every CheckpointEvery steps,
// every CheckpointMinutes, at the last step and when the run stops.
type checkpointer struct {
	r        *Run
	t        *Trainer
	perEpoch int
	last     time.Time
	path     string // the last one written
}

func (c *checkpointer) afterStep(_ context.Context, s *StepDone) error {
	cfg := c.r.Config
	if cfg.CheckpointEvery > 0 && s.Step%cfg.CheckpointEvery == 0 || s.Last || s.Stopping ||
		cfg.CheckpointMinutes > 0 && time.Since(c.last).Minutes() >= cfg.CheckpointMinutes {
		var err error
		s.Checkpoint, err = c.save()
		return err
	}
	return nil
}

// stop ends a run that ctx stopped after step s: with a checkpoint of that
// step (written now when the observers had not), and ctx's error.
func (c *checkpointer) stop(ctx context.Context, s *StepDone) error {
	if s.Checkpoint == "" {
		if _, err := c.save(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// save writes a checkpoint of the trainer's step and prunes the old ones;
// its error is the one to stop the run with.
func (c *checkpointer) save() (string, error) {
	t := c.t
	p := filepath.Join(c.r.checkpointsDir(), checkpointName(t.Steps()))
	err := t.Save(p, map[string]string{"epoch": strconv.Itoa(t.Steps() / c.perEpoch),
		"data_step": strconv.Itoa(t.Steps() % c.perEpoch)})
	if err == nil {
		c.last, c.path = time.Now(), p
		err = c.r.prune()
	}
	switch {
	case errors.Is(err, ErrDiverged):
		return "", c.r.diverged(fmt.Sprintf("by step %d: %v", t.Steps(), err))
	case err != nil:
		return "", c.r.writeFailed(err)
	}
	return p, nil
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
