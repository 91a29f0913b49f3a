package live

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/latent"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/vk"
)

// gridImages is how many images a live grid holds at most: the 8×8 of the
// sample PNGs.
const gridImages = 64

// Live is a run as a viewer sees it, shared between the goroutine that
// drives the run (run.Run's Train with Live.Watch as its Watch, or Follow)
// and the viewer's: the driver publishes grids, steps and status; the
// viewer reads Snapshot and asks for things (Pause, NewZ, Walk, Real,
// Quit), which the driver carries out between steps. The grid lives on the device, in a buffer
// Live owns, so it outlasts the trainer or generator that made it.
type Live struct {
	dev  *vk.Device
	grid *vk.Buffer
	seq  *vk.Sequence // the last copy into grid, kept for replays
	from *vk.Buffer   // what seq copies

	mu       sync.Mutex
	snap     Snapshot
	want     wants
	wake     chan struct{}
	onChange func()
	OnQuit   func() // called once by Quit; the command cancels training with it
}

// wants is what the viewer asked for; the driver compares it with what it
// has done.
type wants struct {
	paused, walking, real, quit bool
	draws                       int // how many times N was pressed
}

// Snapshot is a consistent view of a Live at one moment.
type Snapshot struct {
	Run      string     // the run folder
	Grid     *vk.Buffer // N images of C×S×S floats in [-1, 1]; N is 0 until the first grid
	N, C, S  int
	GridStep int      // the step of the generator (or the real batch) the grid shows
	GridFrom string   // what made it: "fixed z", "z #3", "latent walk", "real batch", a PNG's name
	Real     bool     // the grid shows real images
	Rows     []string // a conditional model's: the class each row of a generated grid shows
	Version  int      // changes whenever the grid does
	Changes  int      // changes whenever anything does

	History  []run.Metric // every logged step; shared, append-only: do not modify
	Step     int
	Total    int // steps of the run; 0 when not known
	Epoch    float64
	ImgPerS  float64
	Elapsed  time.Duration
	Training bool // this process trains the run: Space pauses it, Q checkpoints it
	Paused   bool
	Walking  bool
	Done     bool   // the driver has nothing more to do (training ended)
	Status   string // a line for the user, "" when all is well
}

// New makes the live view of a run whose images are c×s×s.
func New(d *vk.Device, run string, c, s int) (*Live, error) {
	g, err := d.NewBuffer("live grid", 4*gridImages*c*s*s)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	return &Live{dev: d, grid: g, wake: make(chan struct{}, 1), snap: Snapshot{Run: run, Grid: g, C: c, S: s}}, nil
}

// Close frees the grid. Call it once neither side uses the Live.
func (l *Live) Close() {
	if l.seq != nil {
		l.seq.Close()
		l.seq = nil
	}
	l.grid.Close()
}

// Snapshot returns the view now.
func (l *Live) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap
}

// ask records a request from the viewer and wakes the driver.
func (l *Live) ask(f func(w *wants)) {
	l.mu.Lock()
	f(&l.want)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Pause asks training to stop after the current step (true) or go on.
func (l *Live) Pause(on bool) { l.ask(func(w *wants) { w.paused = on }) }

// NewZ asks for a grid from a new random z.
func (l *Live) NewZ() { l.ask(func(w *wants) { w.draws++; w.walking = false }) }

// Walk starts or stops a smooth walk through latent space.
func (l *Live) Walk(on bool) { l.ask(func(w *wants) { w.walking = on }) }

// Real asks for real images (true) or the generator's.
func (l *Live) Real(on bool) { l.ask(func(w *wants) { w.real = on }) }

// Quit asks the driver to finish: training ends with a checkpoint.
// OnQuit runs before the driver wakes, so a paused run stops where it is.
func (l *Live) Quit() {
	l.mu.Lock()
	first := !l.want.quit
	l.want.quit = true
	l.mu.Unlock()
	if first && l.OnQuit != nil {
		l.OnQuit()
	}
	l.ask(func(*wants) {})
}

func (l *Live) wants() wants {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.want
}

// OnChange sets what is called (on the driver's goroutine) after each
// change: the viewer wakes its loop with it.
func (l *Live) OnChange(f func()) {
	l.mu.Lock()
	l.onChange = f
	l.mu.Unlock()
}

// update changes the snapshot and tells the viewer.
func (l *Live) update(f func(s *Snapshot)) {
	l.mu.Lock()
	f(&l.snap)
	l.snap.Changes++
	tell := l.onChange
	l.mu.Unlock()
	if tell != nil {
		tell()
	}
}

// SetStatus sets the line the viewer shows the user.
func (l *Live) SetStatus(format string, args ...any) {
	l.update(func(s *Snapshot) { s.Status = fmt.Sprintf(format, args...) })
}

// SetDone marks the run as finished with a line for the user.
func (l *Live) SetDone(status string) {
	l.update(func(s *Snapshot) { s.Done, s.Training, s.Paused, s.Status = true, false, false, status })
}

func (l *Live) addMetric(m run.Metric, total int, elapsed time.Duration) {
	l.update(func(s *Snapshot) {
		s.History = append(s.History, m)
		s.Step, s.Total, s.Epoch, s.ImgPerS, s.Elapsed = m.Step, total, m.Epoch, m.ImagesPerSec, elapsed
	})
}

// show copies the first n images of src (c×s×s floats each) into the grid
// on the device and publishes them.
func (l *Live) show(src *vk.Buffer, n, step int, from string, real bool) error {
	n = min(n, gridImages)
	bytes := 4 * n * l.snap.C * l.snap.S * l.snap.S
	if l.seq == nil || l.from != src {
		if l.seq != nil {
			l.seq.Close()
		}
		var err error
		if l.seq, err = l.dev.NewSequence("live grid"); err != nil {
			return err
		}
		l.seq.CopyN(l.grid, src, bytes)
		l.from = src
	}
	if err := l.seq.Submit(); err != nil {
		return err
	}
	l.published(n, step, from, real)
	return nil
}

// showFloats uploads n images from the host into the grid and publishes them.
func (l *Live) showFloats(imgs []float32, n, step int, from string, real bool) error {
	n = min(n, gridImages)
	if err := l.grid.Upload(0, vk.Float32Bytes(imgs[:n*l.snap.C*l.snap.S*l.snap.S])); err != nil {
		return err
	}
	l.published(n, step, from, real)
	return nil
}

func (l *Live) published(n, step int, from string, real bool) {
	l.update(func(s *Snapshot) {
		s.N, s.GridStep, s.GridFrom, s.Real = n, step, from, real
		s.Version++
	})
}

// classRows lays a conditional model's grid out as a row per class (as
// the run's sample grids, as many rows as fit), each column one z, and
// names the rows in the snapshot; nothing for an unconditional model.
func (l *Live) classRows(s *gan.Sampler, seed uint64) error {
	m := s.Model
	if !m.Conditional() {
		return nil
	}
	rows := gan.GridRows(m)
	if err := s.RowPerClass(seed); err != nil {
		return err
	}
	names := make([]string, min(len(rows), gridImages/gan.GridCols))
	for r := range names {
		names[r] = m.ClassName(int(rows[r]))
	}
	l.update(func(sn *Snapshot) { sn.Rows = names })
	return nil
}

// explorer is the z a viewer explores: the fixed z (draw 0, the sample PNGs'),
// a new draw per N, or a walk along great circles between random z's.
type explorer struct {
	s     *gan.Sampler
	seed  uint64
	draw  uint32
	rng   *rand.Rand
	walk  bool
	t     float64   // how far from a to b
	a, b  []float32 // the walk's ends
	label string
}

func newLatent(s *gan.Sampler, seed uint64) *explorer {
	return &explorer{s: s, seed: seed, rng: rand.New(rand.NewSource(time.Now().UnixNano())), label: "fixed z"}
}

// follow carries out the viewer's N presses and walk toggle, and says
// whether the z changed.
func (z *explorer) follow(w wants) (bool, error) {
	changed := false
	if w.draws != int(z.draw) {
		changed = true
		if err := z.redraw(w.draws); err != nil {
			return false, err
		}
	}
	if w.walking != z.walk {
		changed = true
		if err := z.setWalk(w.walking); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// redraw moves to draw k of the sampler's z stream (0 is the fixed z).
func (z *explorer) redraw(k int) error {
	z.draw, z.walk = uint32(k), false
	z.label = "fixed z"
	if k > 0 {
		z.label = fmt.Sprintf("z #%d", k)
	}
	return z.s.Redraw(z.seed, z.draw)
}

// setWalk starts a walk from the current z, or stops where it is.
func (z *explorer) setWalk(on bool) error {
	if on == z.walk {
		return nil
	}
	z.walk = on
	if !on {
		z.label = "z where the walk stopped"
		return nil
	}
	a, err := z.s.ZValues()
	if err != nil {
		return err
	}
	z.a, z.t, z.label = a, 0, "latent walk"
	z.b = z.random()
	return nil
}

func (z *explorer) random() []float32 {
	v := make([]float32, len(z.a))
	for i := range v {
		v[i] = float32(z.rng.NormFloat64())
	}
	return v
}

// advance moves the walk on by dt of the way between two z's, and on to a
// new random end when it arrives.
func (z *explorer) advance(dt float64) error {
	z.t += dt
	if z.t >= 1 {
		z.a, z.b, z.t = z.b, z.random(), z.t-1
	}
	return z.s.SetZ(latent.Slerp(z.a, z.b, z.t, z.s.Z))
}

// walkStep is how far a walk moves per grid: 20 grids from one z to the next.
const walkStep = 0.05

// trainFeed drives a Live from a training run: after each step it carries
// out the viewer's requests and refreshes the grid from the generator, at
// a rate that keeps the refreshes under previewShare of the time.
type trainFeed struct {
	live    *Live
	t       *gan.Trainer
	sampler *gan.Sampler
	z       *explorer
	real    bool
	last    time.Time     // the last refresh
	cost    time.Duration // what it took
}

// Watch makes the live view an observer of a training run: give it to
// run.Run's Watch. The observer shows the generator's grid at once and
// then after each step.
func (l *Live) Watch(st run.Started) (run.Observer, error) {
	t := st.Trainer
	s, err := t.NewSampler(gridImages, gan.DefaultWeights)
	if err != nil {
		return nil, err
	}
	if err := l.classRows(s, t.Config.Seed); err != nil {
		s.Close()
		return nil, err
	}
	f := &trainFeed{live: l, t: t, sampler: s, z: newLatent(s, t.Config.Seed)}
	l.update(func(s *Snapshot) {
		s.History, s.Training, s.Done, s.Total = st.History, true, false, st.Total
		if n := len(st.History); n > 0 {
			s.Step, s.Epoch = st.History[n-1].Step, st.History[n-1].Epoch
		}
	})
	if err := f.refresh(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *trainFeed) Close() { f.sampler.Close() }

// previewShare is the most of training's time the grid's refreshes may
// take: half the preview's 5 %, the other half being the window's drawing,
// which competes for the same device (on lavapipe, the same cores).
const previewShare = 0.025

func (f *trainFeed) refresh() error {
	t0 := time.Now()
	var err error
	if f.real {
		err = f.live.show(f.t.Real(), f.t.Config.Batch, f.t.Steps(), "real batch", true)
	} else {
		if f.z.walk {
			if err = f.z.advance(walkStep); err != nil {
				return err
			}
		}
		if err = f.sampler.Run(); err == nil {
			err = f.live.show(f.sampler.Output(), gridImages, f.t.Steps(), f.z.label, false)
		}
	}
	f.last, f.cost = time.Now(), time.Since(t0)
	return err
}

// due says whether the preview's budget allows a refresh now.
func (f *trainFeed) due() bool {
	gap := time.Duration(float64(f.cost) * (1 - previewShare) / previewShare)
	return time.Since(f.last) >= max(gap, 100*time.Millisecond)
}

// apply carries out what the viewer asked for since the last call and says
// whether the grid must change.
func (f *trainFeed) apply(w wants) (bool, error) {
	changed, err := f.z.follow(w)
	if err != nil {
		return false, err
	}
	if w.real != f.real {
		f.real, changed = w.real, true
	}
	return changed, nil
}

// afterStep runs on the training goroutine after each step: it records the
// step, carries out requests, refreshes the grid when due (always after the
// last step) and holds training while the viewer has it paused.
func (f *trainFeed) AfterStep(ctx context.Context, s *run.StepDone) error {
	if s.Stopping {
		return nil
	}
	ev := s.Event
	f.live.addMetric(s.Metric, ev.TotalSteps, ev.Elapsed)
	last := ev.Step >= ev.TotalSteps
	for {
		w := f.live.wants()
		changed, err := f.apply(w)
		if err != nil {
			return err
		}
		paused := w.paused && !w.quit && !last && ctx.Err() == nil
		// Paused, the generator does not change: only a walk moves the grid.
		if changed || last || !paused && f.due() || paused && f.z.walk {
			if err := f.refresh(); err != nil {
				return err
			}
		}
		if paused != f.live.Snapshot().Paused || f.z.walk != f.live.Snapshot().Walking {
			f.live.update(func(s *Snapshot) { s.Paused, s.Walking = paused, f.z.walk })
		}
		if !paused {
			return nil
		}
		tick := time.Second
		if f.z.walk {
			tick = 66 * time.Millisecond // about 15 grids a second while paused
		}
		select {
		case <-ctx.Done():
		case <-f.live.wake:
		case <-time.After(tick):
		}
	}
}
