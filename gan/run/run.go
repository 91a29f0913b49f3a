package run

import (
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
	"syscall"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/atomicfile"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/score"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/google/uuid"
)

// Config is everything a training run needs, written to config.json so
// that --resume continues it exactly.
type Config struct {
	Train             gan.TrainConfig `json:"train"`
	Data              string          `json:"data"`
	Crop              string          `json:"crop"`
	Steps             int             `json:"steps"`  // total steps of the run; 0: Epochs decides
	Epochs            int             `json:"epochs"` // total epochs when Steps is 0
	SampleEvery       int             `json:"sample_every"`
	CheckpointEvery   int             `json:"checkpoint_every"`
	CheckpointMinutes float64         `json:"checkpoint_minutes"`
	Keep              int             `json:"keep"`
	ScoreEvery        int             `json:"score_every,omitempty"` // score the generators every this many steps; 0: never
	ScoreN            int             `json:"score_n,omitempty"`     // images each score draws; 0: DefaultScoreN
	// Ranks is how many processes train the run (mpirun -np); 0 or 1:
	// one. A resume needs as many: each rank's batch statistics are its
	// rows'.
	Ranks int `json:"ranks,omitempty"`
}

// Event is what the run reports after each step, for a progress bar or a
// log line.
type Event struct {
	Step, TotalSteps        int
	Epoch, StepsPerEpoch    int
	Stats                   gan.Stats
	ImagesPerSec, MsPerStep float64
	AllreduceMs             float64 // of MsPerStep, averaging over the ranks (0 alone)
	Elapsed                 time.Duration
	Sample, Checkpoint      string  // files written after this step, if any
	FD, FDRaw               float64 // the EMA and raw generators' scores, on a step that was scored
}

// Run is a training run in its folder.
type Run struct {
	Dir      string
	Config   Config
	Log      func(format string, args ...any) // notes for the user: data, resume, files
	Report   func(Event)                      // after every step
	CacheDir string                           // where decoded image folders are cached
	// ScoreCache is where --score-every's feature networks are cached;
	// "" builds them anew each run.
	ScoreCache string
	// Watch, when set, is called once the trainer is built (and resumed)
	// for one more observer, which sees each step last: the live feed a
	// viewer draws from is one. If the observer has a Close method, the
	// run calls it when it ends.
	Watch func(Started) (Observer, error)
	// Ranks are the run's when mpirun started several processes: every
	// rank trains its rows of each batch and they agree after each step
	// whether to go on; rank 0 alone writes the run folder and runs the
	// observers. The zero Ranks is a run alone.
	Ranks gan.Ranks
	// Program is how the user starts gan-vk (bin/gan-vk, ./build.sh run),
	// for the lines that say how to resume; "" is gan-vk.
	Program string
}

// driftEvery is how many steps apart the ranks of a data-parallel run
// compare their state's fingerprints: on devices of different kinds the
// same sums may round differently, and then every rank takes rank 0's.
const driftEvery = 100

// strandedError is an error that stopped one rank of a data-parallel run
// where the others wait for it.
type strandedError struct{ error }

func (e strandedError) Unwrap() error { return e.error }

func (r *Run) strand(err error) error {
	if r.Ranks.Alone() {
		return err
	}
	return strandedError{err}
}

// Stranded reports whether err stopped this rank of a data-parallel run
// before the first step or in the middle of one, where the other ranks
// wait for it: once it has said why, the process ends the whole run
// (MPI_Abort). Every other error of Train, every rank meets at the same
// step.
func Stranded(err error) bool {
	var s strandedError
	return errors.As(err, &s)
}

// ErrRankFailed says another rank of a data-parallel run stopped with an
// error (which it printed): the others stop after the same step.
var ErrRankFailed = errors.New("another rank of the run failed")

// Started is a run about to take its first step (or its first after a
// resume), as Watch sees it.
type Started struct {
	Trainer *gan.Trainer
	History []Metric // metrics.jsonl's lines so far
	Total   int      // the step the run trains to
}

// NewName names a new run: its start time and a short random id, so
// runs sort by time and two started in the same second do not collide.
func NewName(now time.Time) string {
	return now.Format("20060102-150405") + "-" + uuid.NewString()[:8]
}

// Paths inside a run folder.
func (r *Run) configPath() string     { return filepath.Join(r.Dir, "config.json") }
func (r *Run) metricsPath() string    { return filepath.Join(r.Dir, "metrics.jsonl") }
func (r *Run) samplesDir() string     { return filepath.Join(r.Dir, "samples") }
func (r *Run) checkpointsDir() string { return filepath.Join(r.Dir, "checkpoints") }

// ReadConfig reads a run folder's config.json.
func ReadConfig(dir string) (Config, error) {
	var c Config
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c, fmt.Errorf("%s is not a gan-vk run folder (no config.json)", dir)
		}
		return c, err
	}
	return parseConfig(b, filepath.Join(dir, "config.json"))
}

// parseConfig reads config.json's bytes; path names it in errors.
func parseConfig(b []byte, path string) (Config, error) {
	var c Config
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
func (c Config) Check() error {
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
	case c.ScoreEvery < 0:
		return fmt.Errorf("--score-every %d must not be negative", c.ScoreEvery)
	case c.Ranks < 0:
		return fmt.Errorf("ranks %d must not be negative", c.Ranks)
	case c.ScoreN != 0 && (c.ScoreN < score.MinSamples || c.ScoreN > 1<<20):
		return fmt.Errorf("--score-n %d: a score needs at least %d images (%d or more for a stable FD)", c.ScoreN, score.MinSamples, score.WarnSamples)
	}
	return nil
}

// CheckRanks reports a run in dir that cannot be resumed on this many
// processes: as many as it was trained on. program is how the user starts
// gan-vk ("" is gan-vk), as the resume line names it.
func (c Config) CheckRanks(program, dir string, ranks int) error {
	trained := max(c.Ranks, 1)
	if trained == ranks {
		return nil
	}
	how := resumeCommand(program, trained, dir)
	if trained == 1 {
		how += ", without mpirun"
	}
	return fmt.Errorf("%s was trained on %d process(es) and this is one of %d: resume it with %s; under another count "+
		"each process's batch statistics would be over other rows, and the run would not continue as it began", dir, trained, ranks, how)
}

// StepDone is what the run loop hands its observers after each step, in
// order: the observers before the report fill in the files they wrote.
type StepDone struct {
	Event
	Metric   Metric
	Last     bool // the run's last step
	Stopping bool // ctx was cancelled before the observers ran: the run stops after this step
}

// An Observer is handed each step after it ran; an error stops the run.
type Observer interface {
	AfterStep(ctx context.Context, s *StepDone) error
}

// observerFunc makes a function an Observer.
type observerFunc func(ctx context.Context, s *StepDone) error

func (f observerFunc) AfterStep(ctx context.Context, s *StepDone) error { return f(ctx, s) }

// Train runs (or, with resume, continues) the run until its last step or
// until ctx is cancelled; either way it ends with a checkpoint. It returns
// the step it reached. Each step goes to the observers in order: the
// metrics line, the sample grid, the checkpoint, the report, and Watch's.
func (r *Run) Train(ctx context.Context, d *vk.Device, resume bool) (int, error) {
	l, err := r.start(d, resume)
	if err != nil {
		return 0, r.strand(err)
	}
	defer l.close()
	t := l.t
	for t.Steps() < l.total {
		before := t.Steps()
		done, err := l.step()
		if errors.Is(err, gan.ErrDiverged) { // the stats are the ranks' mean: every rank diverged at this step
			return before, err
		}
		if err == nil {
			err = l.checkDrift()
		}
		if err != nil {
			return before, r.strand(err)
		}
		done.Stopping = ctx.Err() != nil
		var failed error
		for _, o := range l.observers {
			if failed = o.AfterStep(ctx, done); failed != nil {
				break
			}
		}
		stop, othersFailed, err := l.agree(ctx.Err() != nil, failed != nil)
		switch {
		case failed != nil:
			return t.Steps(), failed
		case err != nil:
			return t.Steps(), err
		case othersFailed:
			return t.Steps(), r.rankFailed(t.Steps())
		case stop: // a signal (to any rank), or a quit from the viewer
			return t.Steps(), l.ckpt.stop(done)
		}
	}
	if l.ckpt.path == "" { // resumed at the end: nothing to do, but say where it stands
		l.logf("%s has already run its %d steps", r.Dir, l.total)
	}
	return t.Steps(), nil
}

// agree is where the ranks of a data-parallel run meet after each step:
// each says whether it was asked to stop and whether it failed, and all
// learn whether any was or did, so that every rank stops after the same
// step. Alone it returns what it is told.
func (l *loop) agree(stopping, failed bool) (stop, othersFailed bool, err error) {
	flags := []int32{b2i(stopping), b2i(failed)}
	if err := l.r.Ranks.MaxOf(flags); err != nil {
		return false, false, fmt.Errorf("agreeing with the other ranks after step %d: %w", l.t.Steps(), err)
	}
	return flags[0] != 0, flags[1] != 0 && !failed, nil
}

// checkDrift compares the ranks' fingerprints every driftEvery steps and
// at the run's last (before its final checkpoint) and, when they differ,
// gives every rank rank 0's state (and says so, once).
func (l *loop) checkDrift() error {
	g := l.r.Ranks
	if g.Alone() || l.t.Steps()%driftEvery != 0 && l.t.Steps() != l.total {
		return nil
	}
	fp, err := l.t.Fingerprint()
	if err != nil {
		return err
	}
	hi, lo := int32(fp>>16), int32(fp&0xffff)
	v := []int32{hi, -hi, lo, -lo}
	if err := g.Max(v); err != nil {
		return fmt.Errorf("comparing the ranks' fingerprints after step %d: %w", l.t.Steps(), err)
	}
	if v[0] == -v[1] && v[2] == -v[3] {
		return nil
	}
	if !l.drifted {
		l.logf("after step %d the ranks hold other bits than rank 0 (devices of different kinds round the same sums differently; "+
			"ranks stay bit-equal only on devices of one kind): every rank takes rank 0's state now and whenever they differ, checked every %d steps",
			l.t.Steps(), driftEvery)
		l.drifted = true
	}
	return l.t.ShareState(g.Bcast)
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// loop is a run being trained: what Train sets up and its loop steps.
type loop struct {
	r         *Run
	logf      func(string, ...any)
	t         *gan.Trainer
	loader    *data.Loader
	total     int
	batches   *prefetch
	start     time.Time
	ckpt      *checkpointer
	observers []Observer
	closers   []func()
	drifted   bool     // the ranks' state has differed once
	labels    []uint32 // a conditional run's batch classes, read from the loader
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
	cfg, err := r.startConfig(resume)
	if err != nil {
		return nil, err
	}
	ds, err := l.openData(cfg)
	if err != nil {
		return nil, err
	}
	if l.t, err = gan.NewParallelTrainer(d, cfg.Train, r.Ranks); err != nil {
		return nil, err
	}
	l.closers = append(l.closers, l.t.Close)
	if r.Ranks.Lead() {
		for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} { // once there is something to write
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
	}
	if resume {
		if err := r.resume(l.t, l.logf); err != nil {
			return nil, err
		}
	}
	if err := l.sameStep(); err != nil {
		return nil, err
	}
	l.batches = newPrefetch(l.loader, l.loader.BatchSize()*ds.ImageBytes(), l.t.Config.DUpdates())
	if r.Ranks.Lead() {
		if err := l.lead(d, ds); err != nil {
			return nil, err
		}
	} else { // the other ranks train and agree, and write nothing
		l.ckpt = &checkpointer{r: r, t: l.t, perEpoch: l.perEpoch(), last: time.Now()}
	}
	if l.t.Steps() < l.total {
		l.batches.load(l.t.Steps())
	}
	l.start = time.Now()
	ok = true
	return l, nil
}

// startConfig checks the run's configuration, and on resume that it runs
// on as many ranks as it was trained on; a data-parallel run records its
// ranks.
func (r *Run) startConfig(resume bool) (Config, error) {
	cfg := r.Config
	if err := cfg.Check(); err != nil {
		return cfg, err
	}
	n := r.Ranks.Count()
	if resume {
		if err := cfg.CheckRanks(r.Program, r.Dir, n); err != nil {
			return cfg, err
		}
	}
	if n > 1 {
		r.Config.Ranks, cfg.Ranks = n, n
	}
	return cfg, nil
}

// openData opens the run's data and its loader, and counts the run's steps.
func (l *loop) openData(cfg Config) (*data.Dataset, error) {
	m := cfg.Train.Model
	ds, err := data.Open(data.Options{Path: cfg.Data, Size: m.Size(), Crop: cfg.Crop, CacheDir: l.r.CacheDir, Labels: m.Conditional(), Log: l.logf})
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { ds.Close() })
	switch {
	case ds.C != m.Channels:
		return nil, fmt.Errorf("the data has %d channels, the run's model %d", ds.C, m.Channels)
	case m.Conditional() && ds.Labels == nil:
		return nil, fmt.Errorf("%s has no labels, and the run's model is class-conditional: give the labelled data it was trained on", cfg.Data)
	case m.Conditional() && ds.Classes != m.Classes:
		return nil, fmt.Errorf("%s has %d classes, and the run's model %d: give the labelled data it was trained on", cfg.Data, ds.Classes, m.Classes)
	}
	if l.loader, err = data.NewLoader(ds, cfg.Train.Batch, cfg.Train.Seed); err != nil {
		return nil, err
	}
	l.total = cfg.Steps
	if l.total == 0 {
		l.total = cfg.Epochs * l.perEpoch()
	}
	return ds, nil
}

// perEpoch is the steps of an epoch: a step takes a batch for each of its
// discriminator updates.
func (l *loop) perEpoch() int {
	return max(1, l.loader.StepsPerEpoch()/l.r.Config.Train.DUpdates())
}

// lead is rank 0's part of the start: config.json (on resume the totals
// may have changed), the observers, and a new run's grid of real images.
func (l *loop) lead(d *vk.Device, ds *data.Dataset) error {
	if err := l.r.writeConfig(); err != nil {
		return err
	}
	if err := l.observe(d); err != nil {
		return err
	}
	if l.t.Steps() == 0 {
		return l.r.writeReal(l.loader, ds)
	}
	return nil
}

// sameStep checks that every rank starts from the same step: each read
// the run folder's newest checkpoint itself.
func (l *loop) sameStep() error {
	same, lo, hi, err := l.r.Ranks.Same(int32(l.t.Steps()))
	if err != nil {
		return fmt.Errorf("agreeing on the step with the other ranks: %w", err)
	}
	if !same {
		return fmt.Errorf("the ranks resumed %s at different steps (%d to %d): every rank must see the same run folder (a shared file system across machines)",
			l.r.Dir, lo, hi)
	}
	return nil
}

// resumeCommand is how to continue a run trained on ranks processes, with
// gan-vk started as program ("" is gan-vk).
func resumeCommand(program string, ranks int, dir string) string {
	if program == "" {
		program = "gan-vk"
	}
	if ranks > 1 {
		return fmt.Sprintf("mpirun -np %d %s train --resume %s", ranks, program, dir)
	}
	return program + " train --resume " + dir
}

// observe sets up the observers, in the order they see each step.
func (l *loop) observe(d *vk.Device) error {
	r, t := l.r, l.t
	metrics, err := r.openMetrics(t.Steps())
	if err != nil {
		return err
	}
	l.closers = append(l.closers, func() { metrics.Close() })
	sampler, err := t.NewSampler(gan.GridImages(t.Config.Model), gan.DefaultWeights)
	if err != nil {
		return err
	}
	l.closers = append(l.closers, sampler.Close)
	if m := t.Config.Model; m.Conditional() { // a row per class
		if err := sampler.RowPerClass(t.Config.Seed); err != nil {
			return err
		}
		l.logf("sample grids: a row per class, %s", gan.RowNames(m))
	}
	l.ckpt = &checkpointer{r: r, t: t, perEpoch: l.perEpoch(), last: time.Now()}
	l.observers = []Observer{
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
	if r.Config.ScoreEvery > 0 { // first: the metrics line and the report carry its score
		sc, err := l.newScorer(d)
		if err != nil {
			return err
		}
		l.observers = append([]Observer{sc}, l.observers...)
	}
	if r.Report != nil {
		l.observers = append(l.observers, observerFunc(func(_ context.Context, s *StepDone) error { r.Report(s.Event); return nil }))
	}
	if r.Watch != nil {
		history, err := readMetrics(r.metricsPath())
		if err != nil {
			return err
		}
		o, err := r.Watch(Started{Trainer: t, History: history, Total: l.total})
		if err != nil {
			return err
		}
		if c, ok := o.(interface{ Close() }); ok {
			l.closers = append(l.closers, c.Close)
		}
		l.observers = append(l.observers, o)
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
	lo, hi := t.Rows() // a data-parallel rank's rows of the batch
	k := t.Config.DUpdates()
	image := len(batch) / k / l.loader.BatchSize()
	for j := range k {
		b := batch[j*len(batch)/k : (j+1)*len(batch)/k]
		if err := t.RealBatch(j).Upload(0, vk.Float32Bytes(b[lo*image:hi*image])); err != nil {
			return nil, err
		}
		if err := l.uploadLabels(step*k+j, j); err != nil {
			return nil, err
		}
	}
	if step+1 < l.total {
		l.batches.load(step + 1)
	}
	st, err := t.Step()
	if err != nil {
		return nil, err
	}
	dt := time.Since(t0)
	if !st.Finite() {
		return nil, l.r.diverged(fmt.Sprintf("at step %d: d_loss %g, g_loss %g", step+1, st.DLoss(), st.G))
	}
	perEpoch := l.perEpoch()
	ev := Event{Step: t.Steps(), TotalSteps: l.total, Epoch: step / perEpoch, StepsPerEpoch: perEpoch,
		Stats: st, MsPerStep: float64(dt.Microseconds()) / 1000, ImagesPerSec: float64(t.Config.Batch*t.Config.DUpdates()) / dt.Seconds(),
		Elapsed: time.Since(l.start)}
	m := Metric{Step: t.Steps(), Epoch: float64(t.Steps()) / float64(perEpoch),
		DLoss: st.DLoss(), GLoss: st.G, DX: st.DX, DGZ: st.DGZ, ImagesPerSec: round3(ev.ImagesPerSec), MsPerStep: round3(ev.MsPerStep),
		AllreduceMs: round3(float64(t.ReduceTime().Microseconds()) / 1000)}
	ev.AllreduceMs = m.AllreduceMs
	if t.Config.Augment != 0 {
		m.AugmentP, m.RT = &st.AugmentP, &st.RT
	}
	return &StepDone{Event: ev, Metric: m, Last: t.Steps() == l.total}, nil
}

// uploadLabels uploads a conditional model's classes of the loader's
// batch to its k-th real batch (this rank's rows).
func (l *loop) uploadLabels(batch, k int) error {
	b := l.t.RealLabels(k)
	if b == nil {
		return nil
	}
	if l.labels == nil {
		l.labels = make([]uint32, l.loader.BatchSize())
	}
	if err := l.loader.BatchLabels(batch, l.labels); err != nil {
		return err
	}
	lo, hi := l.t.Rows()
	return b.Upload(0, vk.Uint32Bytes(l.labels[lo:hi]))
}

// resume loads the newest checkpoint of the run folder into t, after
// removing what interrupted writes left.
func (r *Run) resume(t *gan.Trainer, logf func(string, ...any)) error {
	if r.Ranks.Lead() { // the one rank that writes the folder tidies it
		for _, dir := range []string{r.samplesDir(), r.checkpointsDir()} {
			atomicfile.RemoveStale(dir, logf)
		}
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
	if err := Restore(t, c); err != nil {
		return err
	}
	logf("resuming %s at step %d from %s", r.Dir, t.Steps(), c.Path)
	return nil
}

// writeReal writes a grid of the first batch, samples/real.png.
func (r *Run) writeReal(loader *data.Loader, ds *data.Dataset) error {
	batch := make([]float32, loader.BatchSize()*ds.ImageBytes())
	if err := loader.Batch(0, batch); err != nil {
		return err
	}
	n := min(64, loader.BatchSize())
	return gan.WritePNG(filepath.Join(r.samplesDir(), "real.png"), gan.Grid(batch, n, ds.C, ds.S, 8))
}

// prefetch prepares the next step's batches (one per discriminator
// update, loader batches step·k to step·k+k−1) on a goroutine while the
// device runs this one, in one of two buffers.
type prefetch struct {
	loader *data.Loader
	k      int
	bufs   [2][]float32
	next   chan loaded
}

type loaded struct {
	step int
	err  error
}

func newPrefetch(l *data.Loader, floats, k int) *prefetch {
	return &prefetch{loader: l, k: k, bufs: [2][]float32{make([]float32, k*floats), make([]float32, k*floats)}, next: make(chan loaded, 1)}
}

// load starts preparing step's batches.
func (p *prefetch) load(step int) {
	go func() {
		buf, floats := p.bufs[step%2], len(p.bufs[0])/p.k
		var err error
		for j := 0; j < p.k && err == nil; j++ {
			err = p.loader.Batch(step*p.k+j, buf[j*floats:(j+1)*floats])
		}
		p.next <- loaded{step, err}
	}()
}

// wait returns step's batches, one after another, once they are ready.
func (p *prefetch) wait(step int) ([]float32, error) {
	got := <-p.next
	return p.bufs[step%2], got.err
}

// checkpointer writes the run's checkpoints: every CheckpointEvery steps,
// every CheckpointMinutes, at the last step and when the run stops.
type checkpointer struct {
	r        *Run
	t        *gan.Trainer
	perEpoch int
	last     time.Time
	path     string // the last one written
}

func (c *checkpointer) AfterStep(_ context.Context, s *StepDone) error {
	cfg := c.r.Config
	if cfg.CheckpointEvery > 0 && s.Step%cfg.CheckpointEvery == 0 || s.Last || s.Stopping ||
		cfg.CheckpointMinutes > 0 && time.Since(c.last).Minutes() >= cfg.CheckpointMinutes {
		var err error
		s.Checkpoint, err = c.save()
		return err
	}
	return nil
}

// stop ends a run stopped after step s (a signal or a quit, to this rank
// or another): with a checkpoint of that step (written now when the
// observers had not; by rank 0 alone), and context.Canceled.
func (c *checkpointer) stop(s *StepDone) error {
	if s.Checkpoint == "" && c.r.Ranks.Lead() {
		if _, err := c.save(); err != nil {
			return err
		}
	}
	return context.Canceled
}

// save writes a checkpoint of the trainer's step and prunes the old ones;
// its error is the one to stop the run with.
func (c *checkpointer) save() (string, error) {
	t := c.t
	p := filepath.Join(c.r.checkpointsDir(), checkpointName(t.Steps()))
	err := SaveCheckpoint(t, p, map[string]string{"epoch": strconv.Itoa(t.Steps() / c.perEpoch),
		"data_step": strconv.Itoa(t.Steps() % c.perEpoch)})
	if err == nil {
		c.last, c.path = time.Now(), p
		err = c.r.prune()
	}
	switch {
	case errors.Is(err, gan.ErrDiverged):
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
	last := r.lastCheckpoint()
	why := ""
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		why = "free some space, then "
	case errors.Is(err, syscall.EROFS), errors.Is(err, fs.ErrPermission):
		why = fmt.Sprintf("make %s writable, then ", r.Dir)
	}
	return fmt.Errorf("%w; training stopped and %s: %scontinue with: %s", err, last, why, r.ResumeCommand())
}

// rankFailed is the error of the ranks whose run another rank stopped
// with an error after step (which that rank printed).
func (r *Run) rankFailed(step int) error {
	return fmt.Errorf("%w after step %d (it said why); training stopped and %s: continue with: %s", ErrRankFailed, step,
		r.lastCheckpoint(), r.ResumeCommand())
}

// lastCheckpoint says where a stopped run stands, for its error.
func (r *Run) lastCheckpoint() string {
	if c, err := NewestCheckpoint(r.Dir, nil); err == nil {
		return "its last checkpoint " + c.Path + " is whole"
	}
	return "no checkpoint yet"
}

// ResumeCommand is how to continue the run.
func (r *Run) ResumeCommand() string { return resumeCommand(r.Program, max(r.Config.Ranks, 1), r.Dir) }

// diverged is the error for a run whose numbers went NaN or infinite: it
// names the last good checkpoint, which the run never overwrites with bad
// values, and what to try.
func (r *Run) diverged(what string) error {
	last := "no checkpoint was written before it"
	if c, err := NewestCheckpoint(r.Dir, nil); err == nil {
		last = "the last good checkpoint is " + c.Path
	}
	return fmt.Errorf("%w %s; %s; start a new run with a lower --lr (this one has %g)", gan.ErrDiverged, what, last, r.Config.Train.LR)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func (r *Run) writeSample(s *gan.Sampler, step int) (string, error) {
	imgs, err := s.Images()
	if err != nil {
		return "", err
	}
	p := filepath.Join(r.samplesDir(), fmt.Sprintf("step_%06d.png", step))
	return p, gan.WritePNG(p, gan.Grid(imgs, s.N, s.C, s.S, 8))
}

func (r *Run) writeConfig() error {
	b, err := json.MarshalIndent(r.Config, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(r.configPath(), func(w io.Writer) error {
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
