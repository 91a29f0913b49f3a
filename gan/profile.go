package gan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/vk"
)

// The profile's scopes outside the networks (each network names its own
// layers' scopes: nn.Scope).
const (
	scopeSetup = "clock, z, zero grads"
	scopeLoss  = "loss"
	scopeAdam  = "Adam"
	scopeEMA   = "EMA"
	// scopeAugment is the augmentation before the discriminator and the
	// real batch's mirror.
	scopeAugment = "augment"
)

// Category is a kind of device work in a step's profile.
type Category int

// The categories of a profile, in the order a table shows them.
const (
	Forward        Category = iota // dense, conv and transposed-conv forward GEMMs
	BackwardData                   // their gradient to the input
	BackwardFilter                 // their gradient to the weights and biases
	BatchNorm                      // statistics, normalisation and its backward
	Activations                    // activations and dropout run on their own
	Loss                           // the loss and its gradient
	Adam                           // the optimizer
	Copies                         // fills, copies and weight rearrangements
	Augmentation                   // the augmentation before the discriminator and the mirror
	Other                          // the clock and the latent draw
	Categories
)

var categoryNames = [Categories]string{"forward", "backward-data", "backward-filter", "batch norm",
	"activations", "loss", "Adam", "copies", "augmentation", "other"}

func (c Category) String() string { return categoryNames[c] }

// categorize attributes a command, by its label (the kernel's name ends in
// its shader's) and the phase it was recorded in.
func categorize(label, phase string) Category {
	shader := label[strings.LastIndex(label, "/")+1:]
	switch shader {
	case "conv_fwd", "convt_fwd":
		if phase == nn.PhaseBackward {
			return BackwardData
		}
		return Forward
	case "conv_wgrad", "sum_slices", "channel_sum":
		return BackwardFilter
	case "bn_stats", "bn_apply", "bn_bwd_reduce", "bn_bwd_data":
		return BatchNorm
	case "act_fwd", "act_bwd", "dropout":
		return Activations
	case "gan_loss":
		return Loss
	case "adam":
		return Adam
	case "fill", "copy", "permute":
		return Copies
	case "augment_draw", "augment_fwd", "augment_bwd", "mirror":
		return Augmentation
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
