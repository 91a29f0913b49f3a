package gan

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// The FLOPs of a training step.
//
// A dense, conv or transposed-conv layer does the same number of
// multiply-adds (MACs) in each of its three passes — forward, backward to
// its input (data) and backward to its weights (filter) — counted the
// dense way, every tap of the kernel, padding included:
//
//	dense           N·In·Out
//	conv2d          N·K·OH·OW·C·KH·KW
//	conv_transpose  N·C·H·W·K·KH·KW
//
// A step is one discriminator update and GSteps generator updates; a
// layer's passes in it, as the counter derives them from the step's
// recipes (step.go), are:
//
//	                 forward        data                   filter
//	generator        GSteps         GSteps (not layer 0)   GSteps
//	discriminator    2 + GSteps     2 (not layer 0)+GSteps 2
//
// The D update runs G forward once and D forward and backward on the real
// and the fake batch, with no gradient to D's input; each G update runs G
// and D forward, D backward to the images (no filter gradient) and G
// backward (no gradient to z) — except that the first G update reuses the
// D update's G forward (same weights, same z: updateG), so G runs forward
// GSteps times, not 1 + GSteps. These are the passes gan-vk executes;
// FLOPs = 2 × Σ MACs × passes. Batch norm,
// activations, the loss and Adam are not counted: they are a few FLOPs per
// element, not per tap.

// macs is the multiply-adds of one pass of l over n samples; 0 for layers
// that are not dense, conv or transposed conv.
func (l layerSpec) macs(n int) float64 {
	switch l.kind {
	case dense:
		return float64(n) * float64(l.inCount()) * float64(l.outCount())
	case conv:
		return float64(n) * float64(l.k*l.oh*l.ow) * float64(l.c*l.size*l.size)
	case convT:
		return float64(n) * float64(l.c*l.h*l.w) * float64(l.k*l.size*l.size)
	}
	return 0
}

// layerFLOPs is one dense, conv or transposed-conv layer's FLOPs in a step,
// by pass, by the formula above.
type layerFLOPs struct {
	name              string
	fwd, data, filter float64
}

// stepLayers lists the step's GEMM layers, generator first, with the
// FLOPs of each phase's passes.
func (c TrainConfig) stepLayers() []layerFLOPs {
	var out []layerFLOPs
	for _, p := range c.GEMMPasses() {
		if len(out) == 0 || out[len(out)-1].name != p.Layer {
			out = append(out, layerFLOPs{name: p.Layer})
		}
		l := &out[len(out)-1]
		f := p.FLOPs * float64(p.Runs)
		switch p.Phase {
		case Forward:
			l.fwd = f
		case BackwardData:
			l.data = f
		default:
			l.filter = f
		}
	}
	return out
}

// StepFLOPs is the floating-point operations of one training step's
// dense, conv and transposed-conv passes, by the formula above.
func (c TrainConfig) StepFLOPs() float64 {
	var f float64
	for _, l := range c.stepLayers() {
		f += l.fwd + l.data + l.filter
	}
	return f
}

// The profile's scopes: each recorded command is attributed to a layer (or
// a part of the step outside the networks) and to the phase it belongs to,
// "layer/phase".
const (
	phaseForward  = "fwd"
	phaseBackward = "bwd"
	scopeSetup    = "clock, z, zero grads"
	scopeLoss     = "loss"
	scopeAdam     = "Adam"
	scopeEMA      = "EMA"
)

func scope(name, phase string) string { return name + "/" + phase }

// layerName names layer i in a profile: "G.4 convT 1024→512 8×8".
func (n netSpec) layerName(i int) string {
	l := n.layers[i]
	net := strings.ToUpper(n.name[:1])
	switch l.kind {
	case dense:
		return fmt.Sprintf("%s.%d dense %d→%d", net, l.module, l.inCount(), l.outCount())
	case conv:
		return fmt.Sprintf("%s.%d conv %d→%d %d×%d", net, l.module, l.c, l.k, l.oh, l.ow)
	case convT:
		return fmt.Sprintf("%s.%d convT %d→%d %d×%d", net, l.module, l.c, l.k, l.oh, l.ow)
	case batchNorm:
		return fmt.Sprintf("%s.%d batchnorm %d %d×%d", net, l.module, l.k, l.oh, l.ow)
	case dropout:
		return fmt.Sprintf("%s.%d dropout %d×%d×%d", net, l.module, l.k, l.oh, l.ow)
	}
	return fmt.Sprintf("%s.%d", net, l.module)
}

// Category is a kind of device work in a step's profile.
type Category int

// The categories of a profile, in the order a table shows them.
const (
	Forward        Category = iota // dense, conv and transposed-conv forward GEMMs
	BackwardData                   // their gradient to the input
	BackwardFilter                 // their gradient to the weights and biases
	BatchNorm                      // statistics, normalisation and its backward
	Activations                    // activations and dropout run on their own
	Loss                           // the BCE loss and its gradient
	Adam                           // the optimizer
	Copies                         // fills, copies and weight rearrangements
	Other                          // the clock and the latent draw
	Categories
)

var categoryNames = [Categories]string{"forward", "backward-data", "backward-filter", "batch norm",
	"activations", "loss", "Adam", "copies", "other"}

func (c Category) String() string { return categoryNames[c] }

// categorize attributes a command, by its label (the kernel's name ends in
// its shader's) and the phase it was recorded in.
func categorize(label, phase string) Category {
	shader := label[strings.LastIndex(label, "/")+1:]
	switch shader {
	case "conv_fwd", "convt_fwd":
		if phase == phaseBackward {
			return BackwardData
		}
		return Forward
	case "conv_wgrad", "sum_slices", "channel_sum":
		return BackwardFilter
	case "bn_stats", "bn_apply", "bn_bwd_reduce", "bn_bwd_data":
		return BatchNorm
	case "act_fwd", "act_bwd", "dropout":
		return Activations
	case "bce":
		return Loss
	case "adam":
		return Adam
	case "fill", "copy", "permute":
		return Copies
	}
	return Other
}

// ProfileRow is one layer's (or one part of the step's) device time in a
// step, by category, and the FLOPs of its GEMM passes.
type ProfileRow struct {
	Name  string
	Time  [Categories]time.Duration
	FLOPs [Categories]float64
}

// Total is the row's time.
func (r ProfileRow) Total() time.Duration {
	var t time.Duration
	for _, d := range r.Time {
		t += d
	}
	return t
}

// Profile is a step's device time, layer by layer, from timestamps written
// after every command: the median of each command over the runs.
type Profile struct {
	Rows  []ProfileRow
	Total ProfileRow // the sum of the rows
	Runs  int
}

// Profile records the trainer's two steps again with a timestamp after
// every command, runs them (one discriminator update and GSteps generator
// updates, runs times, training the model as Step does) and attributes each
// command's device time. Timestamps between commands cost a little, so the
// profile's total is somewhat above a plain step's.
func (t *Trainer) Profile(runs int) (*Profile, error) {
	runs = max(runs, 1)
	seqs, err := t.profiledUpdates()
	defer func() {
		for _, q := range seqs {
			q.seqs[0].Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	rows := map[string]*ProfileRow{}
	var order []string
	row := func(name string) *ProfileRow {
		r, ok := rows[name]
		if !ok {
			r = &ProfileRow{Name: name}
			rows[name] = r
			order = append(order, name)
		}
		return r
	}
	for _, q := range seqs {
		s := q.seqs[0]
		var samples [][]time.Duration // per command, one per run
		var stamps []vk.Stamp
		for range runs {
			for range q.times {
				if err := s.Submit(); err != nil {
					return nil, fmt.Errorf("gan: profile: %w", err)
				}
				st, err := s.Timestamps()
				if err != nil {
					return nil, fmt.Errorf("gan: profile: %w", err)
				}
				if samples == nil {
					samples = make([][]time.Duration, len(st))
				}
				for i := 1; i < len(st); i++ {
					samples[i] = append(samples[i], st[i].At-st[i-1].At)
				}
				stamps = st
			}
		}
		for i := 1; i < len(stamps); i++ {
			name, phase := stamps[i].Scope, ""
			if j := strings.LastIndex(name, "/"); j >= 0 {
				name, phase = name[:j], name[j+1:]
			}
			// Each run submits the sequence q.times times: the step's share
			// is the median of one submission times that.
			row(name).Time[categorize(stamps[i].Label, phase)] += median(samples[i]) * time.Duration(q.times)
		}
	}
	// The GEMM passes' FLOPs, as StepFLOPs counts them.
	for _, l := range t.Config.stepLayers() {
		r := row(l.name)
		r.FLOPs[Forward], r.FLOPs[BackwardData], r.FLOPs[BackwardFilter] = l.fwd, l.data, l.filter
	}
	p := &Profile{Runs: runs, Total: ProfileRow{Name: "step"}}
	for _, name := range order {
		r := *rows[name]
		p.Rows = append(p.Rows, r)
		for c := range Categories {
			p.Total.Time[c] += r.Time[c]
			p.Total.FLOPs[c] += r.FLOPs[c]
		}
	}
	return p, nil
}

// profiledUpdates records the step's updates again, each with a timestamp
// after every command, in one sequence: a profile runs the updates alone,
// with no averaging over ranks between the gradients and Adam.
func (t *Trainer) profiledUpdates() ([]recordedUpdate, error) {
	var seqs []recordedUpdate
	for _, u := range t.Config.updates() {
		if u.times == 0 {
			continue
		}
		s, err := t.dev.NewSequence("profiled " + u.name)
		if err != nil {
			return seqs, fmt.Errorf("gan: profile: %w", err)
		}
		seqs = append(seqs, recordedUpdate{seqs: []*vk.Sequence{s}, times: u.times})
		s.Profile()
		u.recipe(&recorder{t: t, s: s})
	}
	return seqs, nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// Commands counts what one step submits to the device: the dispatches,
// copies, fills and barriers of one discriminator update and GSteps
// generator updates, and the submissions.
func (t *Trainer) Commands() (dispatches, transfers, barriers, submits int) {
	for _, u := range t.updates {
		for _, s := range u.seqs {
			st := s.Stats()
			dispatches += u.times * st.Dispatches
			transfers += u.times * (st.Copies + st.Fills)
			barriers += u.times * st.Barriers
			submits += u.times
		}
	}
	return dispatches, transfers, barriers, submits
}

// FillSynthetic fills the real batch with uniform noise in [-1, 1), for
// benchmarks that train on no data set.
func (t *Trainer) FillSynthetic(seed int64) error {
	r := rand.New(rand.NewSource(seed))
	v := make([]float32, t.real.Size()/4)
	for i := range v {
		v[i] = 2*r.Float32() - 1
	}
	if err := t.real.Upload(0, vk.Float32Bytes(v)); err != nil {
		return fmt.Errorf("gan: the synthetic batch: %w", err)
	}
	return nil
}

// DispatchCost measures the device's fixed cost of one dispatch inside a
// command buffer: a sequence of n tiny dependent dispatches (the clock's
// one-invocation tick, each waiting on the last), timed with timestamps,
// the median of runs.
func DispatchCost(d *vk.Device, n, runs int) (time.Duration, error) {
	if !d.Info().Timestamps {
		return 0, fmt.Errorf("gan: %s cannot write timestamps", d.Info().Name)
	}
	c, err := layers.NewClock(d, "dispatch cost", 0)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s, err := d.NewSequence("dispatch cost")
	if err != nil {
		return 0, err
	}
	defer s.Close()
	s.Timestamp("start")
	for range n {
		c.Tick(s)
	}
	s.Timestamp("end")
	var per []time.Duration
	for r := 0; r <= runs; r++ { // the first run warms up
		if err := s.Submit(); err != nil {
			return 0, err
		}
		st, err := s.Timestamps()
		if err != nil {
			return 0, err
		}
		if r > 0 {
			per = append(per, st[1].At/time.Duration(n))
		}
	}
	return median(per), nil
}
