// Package tune finds the fastest tile for each GEMM pass of a training
// step on the device it runs on, and keeps the winners per device and
// driver for training to use.
//
// The files:
//
//	tune.go   Run: timing each pass's candidate tiles, dropping the slow ones early
//	cache.go  Cache: the winners in the user's cache folder, one file per device and driver
package tune

import (
	"fmt"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Tuning times every candidate tile of each GEMM pass of a step on the
// device (layers.Candidates), as torch.backends.cudnn.benchmark does, and
// keeps the fastest. Each candidate runs once; one slower than
// dropFactor × the best so far is dropped there, the others run twice more
// and count by their fastest run. A filter gradient then tries splitting
// the winner's reduction.

// dropFactor is how much slower than the best a candidate's first run may
// be and still be timed again.
const dropFactor = 1.3

// familyProbe and familyDrop: a form whose first familyProbe tiles are
// all familyDrop × slower than the best is not timed further.
const (
	familyProbe = 3
	familyDrop  = 2.0
)

// minTimed is the least device time one timed run should take: shorter
// passes are recorded several times over in one run.
const minTimed = 2 * time.Millisecond

// Result is what tuning found for one pass.
type Result struct {
	Pass       layers.Pass
	Layers     []string // where the step runs it: "G.4 convT 1024→512 8×8 fwd"
	Heuristic  layers.Tile
	Best       layers.Tile
	HeuristicT time.Duration // one pass's device time
	BestT      time.Duration
	Tried      int // candidates built and timed
	Dropped    int // of those, dropped after their first run
	Skipped    int // candidates of a form that lost clearly, not timed
}

// Speedup is how much faster the winner is than the heuristic's tile.
func (r Result) Speedup() float64 {
	if r.BestT <= 0 {
		return 1
	}
	return float64(r.HeuristicT) / float64(r.BestT)
}

// Options are how a tune goes.
type Options struct {
	// Progress is told about each pass as tuning starts it (i of n, done
	// nil) and once it is done (with its result).
	Progress func(i, n int, p layers.Pass, done *Result)
	// MaxCandidates, when positive, times at most that many tiles of a
	// pass (the heuristic's first), besides the splits of the winner: a
	// quick tune.
	MaxCandidates int
}

// Run times the candidates of each distinct GEMM pass of the step on d.
func Run(d *vk.Device, c gan.TrainConfig, opts Options) ([]Result, error) {
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	var order []layers.Pass
	where := map[layers.Pass][]string{}
	for _, sp := range c.GEMMPasses() {
		if where[sp.Pass] == nil {
			order = append(order, sp.Pass)
		}
		where[sp.Pass] = append(where[sp.Pass], sp.Layer+" "+sp.PhaseName())
	}
	var out []Result
	for i, p := range order {
		if opts.Progress != nil {
			opts.Progress(i, len(order), p, nil)
		}
		r, err := tunePass(d, p, opts.MaxCandidates)
		if err != nil {
			return out, err
		}
		r.Layers = where[p]
		out = append(out, r)
		if opts.Progress != nil {
			opts.Progress(i, len(order), p, &r)
		}
	}
	return out, nil
}

// tunePass times p's candidates.
func tunePass(d *vk.Device, p layers.Pass, most int) (Result, error) {
	ops, err := layers.NewGEMMOperands(d, p)
	if err != nil {
		return Result{}, err
	}
	defer ops.Close()
	info := d.Info()
	cands := layers.Candidates(info, p)
	if most > 0 && len(cands) > most {
		cands = cands[:most]
	}
	pt := &passTimer{d: d, p: p, ops: ops}
	r := Result{Pass: p, Heuristic: cands[0], Best: cands[0]}
	if r.HeuristicT, _, err = pt.measure(cands[0], 0); err != nil {
		return r, err
	}
	r.BestT, r.Tried = r.HeuristicT, 1
	try := func(t layers.Tile) (time.Duration, error) {
		el, kept, err := pt.measure(t, time.Duration(dropFactor*float64(r.BestT)))
		if err != nil {
			return 0, err
		}
		r.Tried++
		if !kept {
			r.Dropped++
		}
		if el < r.BestT {
			r.Best, r.BestT = t, el
		}
		return el, nil
	}
	// The heuristic's form first. A form whose first familyProbe tiles
	// all take more than familyDrop × the best is a clear loser on this
	// device (the shared form on lavapipe, the register form on a GPU):
	// its other tiles are skipped.
	for _, form := range []layers.Form{r.Heuristic.Form, 1 - r.Heuristic.Form} {
		fastest := time.Duration(0)
		seen := 0
		for _, t := range cands[1:] {
			if t.Form != form {
				continue
			}
			if seen == familyProbe && fastest > time.Duration(familyDrop*float64(r.BestT)) {
				r.Skipped++
				continue
			}
			el, err := try(t)
			if err != nil {
				return r, err
			}
			if seen == 0 || el < fastest {
				fastest = el
			}
			seen++
		}
	}
	for _, t := range layers.SplitCandidates(info, p, r.Best) {
		if _, err := try(t); err != nil {
			return r, err
		}
	}
	return r, nil
}

// passTimer times one pass with one tile after another, over the same
// operands and the same number of passes per timed run.
type passTimer struct {
	d    *vk.Device
	p    layers.Pass
	ops  *layers.GEMMOperands
	reps int // passes recorded in one timed run; set by the first tile
}

// measure is one pass of p with t, in device time (host time where the
// device has no timestamps): the fastest of three runs after a warm-up,
// or only the first when that is slower than drop (kept is false then;
// a drop of 0 keeps every tile).
func (pt *passTimer) measure(t layers.Tile, drop time.Duration) (el time.Duration, kept bool, err error) {
	g, err := layers.NewGEMM(pt.d, pt.p, t, pt.ops)
	if err != nil {
		return 0, false, err
	}
	defer g.Close()
	if pt.reps == 0 { // calibrate: timed runs of at least minTimed
		one, err := pt.runs(g, 1, 1, 0)
		if err != nil {
			return 0, false, err
		}
		pt.reps = min(64, max(1, int(minTimed/max(one, time.Microsecond))))
	}
	el, err = pt.runs(g, pt.reps, 3, drop)
	return el, err == nil && (drop == 0 || el <= drop), err
}

// runs times reps passes of g recorded together (layers.Time), the
// fastest of up to times runs after a warm-up, per pass; it stops after
// the first run slower than drop (unless drop is 0).
func (pt *passTimer) runs(g *layers.GEMM, reps, times int, drop time.Duration) (time.Duration, error) {
	record := func(s *vk.Sequence) {
		for range reps {
			g.Record(s)
		}
	}
	el, err := layers.Time(pt.d, "tune "+pt.p.String(), record, times, drop*time.Duration(reps))
	return el / time.Duration(reps), err
}
