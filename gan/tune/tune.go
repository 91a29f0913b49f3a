// Package tune finds the fastest tile for each GEMM pass of a training
// step on the device it runs on, and keeps the winners per device and
// driver for training to use.
//
// The files:
//
//	tune.go   Run: timing each pass's candidate tiles within a budget, dropping the slow ones early
//	cache.go  Cache: the winners in the user's cache folder, one file per device and driver
package tune

import (
	"fmt"
	"sort"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Tuning times the candidate tiles of each GEMM pass of a step on the
// device (layers.Candidates), as torch.backends.cudnn.benchmark does, and
// keeps the fastest. The passes go in order of their share of the step's
// arithmetic, so a budget spends itself on what matters most. Each
// candidate runs once; one slower than dropFactor × the best so far is
// dropped there, the others run twice more and count by their fastest
// run. A filter gradient (and a forward pass of a small grid) then tries
// splitting the winner's reduction other ways. A candidate that fails to
// build or run is skipped (Options.Failed is told), never the end of the
// tune; a budget that runs out keeps the best found so far.

// dropFactor is how much slower than the best a candidate's first run may
// be and still be timed again.
const dropFactor = 1.3

// familyProbe and familyDrop: a family of candidates (a form with its
// loads) whose first familyProbe tiles are all familyDrop × slower than
// the best is not timed further.
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
	HeuristicT time.Duration // one pass's device time; 0 where the heuristic's tile failed
	BestT      time.Duration
	Tried      int  // candidates built and timed
	Dropped    int  // of those, dropped after their first run
	Skipped    int  // candidates of a family that lost clearly, not timed
	Failed     int  // candidates that failed to build or run
	OutOfTime  bool // the budget ran out before every candidate was timed
}

// Speedup is how much faster the winner is than the heuristic's tile.
func (r Result) Speedup() float64 {
	if r.BestT <= 0 || r.HeuristicT <= 0 {
		return 1
	}
	return float64(r.HeuristicT) / float64(r.BestT)
}

// Options are how a tune goes.
type Options struct {
	// Progress is told about each pass as tuning starts it (i of n, done
	// nil) and once it is done (with its result).
	Progress func(i, n int, p layers.Pass, done *Result)
	// Keep is given each pass's result as soon as it is done, so a tune
	// cut short keeps what it found (the cache is written after each
	// pass); an error from it ends the tune.
	Keep func(Result) error
	// Failed is told of each candidate that fails to build or run, which
	// is skipped.
	Failed func(p layers.Pass, t layers.Tile, err error)
	// MaxCandidates, when positive, times at most that many tiles of a
	// pass (the heuristic's first), besides the splits of the winner: a
	// quick tune.
	MaxCandidates int
	// Budget, when positive, is the time the whole tune may take: each
	// pass gets an even share of what is left when it starts, and a pass
	// out of time keeps its best so far; passes reached with nothing left
	// are not tuned (they keep the heuristic's tile).
	Budget time.Duration
	// Candidates, when set, replaces layers.Candidates (for tests).
	Candidates func(vk.DeviceInfo, layers.Pass) []layers.Tile
}

// Run times the candidates of each distinct GEMM pass of the step on d,
// largest share of the step first. A pass none of whose candidates ran is
// left out of the results.
func Run(d *vk.Device, c gan.TrainConfig, opts Options) ([]Result, error) {
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	var order []layers.Pass
	where := map[layers.Pass][]string{}
	cost := map[layers.Pass]float64{}
	for _, sp := range c.GEMMPasses() {
		if where[sp.Pass] == nil {
			order = append(order, sp.Pass)
		}
		where[sp.Pass] = append(where[sp.Pass], sp.Layer+" "+sp.PhaseName())
		cost[sp.Pass] += sp.FLOPs * float64(sp.Runs)
	}
	sort.SliceStable(order, func(i, j int) bool { return cost[order[i]] > cost[order[j]] })
	start := time.Now()
	var out []Result
	for i, p := range order {
		var deadline time.Time
		if opts.Budget > 0 {
			left := opts.Budget - time.Since(start)
			if left <= 0 {
				break
			}
			deadline = time.Now().Add(left / time.Duration(len(order)-i))
		}
		if opts.Progress != nil {
			opts.Progress(i, len(order), p, nil)
		}
		r, ok, err := tunePass(d, p, opts, deadline)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		r.Layers = where[p]
		out = append(out, r)
		if opts.Progress != nil {
			opts.Progress(i, len(order), p, &r)
		}
		if opts.Keep != nil {
			if err := opts.Keep(r); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// tunePass times p's candidates until deadline (none where zero); ok is
// false where none of them ran. err is an error of the operands, which no
// candidate can run without.
func tunePass(d *vk.Device, p layers.Pass, opts Options, deadline time.Time) (r Result, ok bool, err error) {
	ops, err := layers.NewGEMMOperands(d, p)
	if err != nil {
		return Result{}, false, err
	}
	defer ops.Close()
	cands := candidatesOf(d.Info(), p, opts)
	if len(cands) == 0 {
		return Result{}, false, nil
	}
	s := &search{pt: &passTimer{d: d, p: p, ops: ops}, opts: opts, deadline: deadline, r: Result{Pass: p, Heuristic: cands[0]}}
	if el, ok := s.try(cands[0]); ok {
		s.r.HeuristicT = el
	}
	s.families(cands[1:])
	if s.r.BestT == 0 { // nothing ran
		return s.r, false, nil
	}
	for _, t := range layers.SplitCandidates(d.Info(), p, s.r.Best) {
		if s.late() {
			break
		}
		s.try(t)
	}
	return s.r, true, nil
}

// candidatesOf are p's candidate tiles on the device, the heuristic's
// first, at most opts.MaxCandidates of them.
func candidatesOf(info vk.DeviceInfo, p layers.Pass, opts Options) []layers.Tile {
	candidates := layers.Candidates
	if opts.Candidates != nil {
		candidates = opts.Candidates
	}
	cands := candidates(info, p)
	if opts.MaxCandidates > 0 && len(cands) > opts.MaxCandidates {
		cands = cands[:opts.MaxCandidates]
	}
	return cands
}

// search is one pass's tuning under way: what it found so far in r.
type search struct {
	pt       *passTimer
	opts     Options
	deadline time.Time
	r        Result
}

// late reports whether the pass's time is up (and records it).
func (s *search) late() bool {
	if !s.deadline.IsZero() && time.Now().After(s.deadline) {
		s.r.OutOfTime = true
	}
	return s.r.OutOfTime
}

// try times t; it reports the time, or false where t failed.
func (s *search) try(t layers.Tile) (time.Duration, bool) {
	r := &s.r
	drop := time.Duration(0)
	if r.BestT > 0 {
		drop = time.Duration(dropFactor * float64(r.BestT))
	}
	el, kept, err := s.pt.measure(t, drop)
	if err != nil {
		r.Failed++
		if s.opts.Failed != nil {
			s.opts.Failed(s.pt.p, t, err)
		}
		return 0, false
	}
	r.Tried++
	if !kept {
		r.Dropped++
	}
	if r.BestT == 0 || el < r.BestT {
		r.Best, r.BestT = t, el
	}
	return el, true
}

// families times cands in order (the heuristic's family first). A family
// whose first familyProbe tiles all take more than familyDrop × the best
// is a clear loser on this device (the shared form on lavapipe, the
// register form on a GPU): its other tiles are skipped.
func (s *search) families(cands []layers.Tile) {
	type family struct {
		form  layers.Form
		loads layers.Loads
	}
	fastest := map[family]time.Duration{}
	seen := map[family]int{}
	for _, t := range cands {
		if s.late() {
			break
		}
		f := family{t.Form, t.Loads}
		if seen[f] == familyProbe && s.r.BestT > 0 && fastest[f] > time.Duration(familyDrop*float64(s.r.BestT)) {
			s.r.Skipped++
			continue
		}
		el, ok := s.try(t)
		if !ok {
			continue
		}
		if seen[f] == 0 || el < fastest[f] {
			fastest[f] = el
		}
		seen[f]++
	}
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
