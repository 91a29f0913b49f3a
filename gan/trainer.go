package gan

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Trainer owns a DCGAN on a device and the recorded updates of its step
// (step.go): the discriminator's (on a real batch the caller uploads to
// Real, and a fake batch from fresh z) and the generator's, replayed GSteps
// times. A data-parallel trainer (Ranks) averages each update's
// gradients over the ranks before Adam, and the batch norms' running
// statistics and the step's losses after the step.
type Trainer struct {
	Config TrainConfig
	dev    *vk.Device
	ranks  Ranks
	n      int // the batch this trainer trains: Batch/Size rows of it

	// A data-parallel trainer's host buffers for Sum, allocated once: each
	// network's gradients, and the losses with both networks' running
	// statistics after the step.
	host       [nets][]float32
	stepHost   []float32
	stepBufs   []hostSpan    // where stepHost's floats come from: the losses first
	reduceTime time.Duration // the last step's in Sum and its copies

	g, d       *nn.Store
	gNet, dNet *nn.Net
	clocks     [nets]*layers.Clock // each update's: z, dropout masks, Adam's step
	adam       [nets]*nn.Adam
	loss       [masks]*layers.Loss // the loss term of each discriminator pass
	z          *nn.Latent          // the step's, drawn by each update's clock
	updates    []recordedUpdate    // the step, in order
	prepare    *vk.Sequence        // both networks' weights rearranged (weightsChanged)

	reals                 []*vk.Buffer // the step's real batches, one per D update
	labels                []*vk.Buffer // a conditional model's: each real batch's classes (uint32)
	dImage, dLogit, stats *vk.Buffer

	aug    *nn.Augment    // before the discriminator (augment.go); nil without
	dAug   *vk.Buffer     // ∂loss/∂(augmented image), on its way back to dImage
	ada    adaptive       // the augmentation's p, adapted or fixed
	mirror *layers.Mirror // the real batch's flips; nil without

	ema           *nn.Store   // the EMA generator (ema.go); nil without one
	emaAvg        *nn.EMA     // its move towards the generator's weights
	calib         *calibrator // its batch norms' running statistics
	emaCalibrated bool        // whether they are its weights' (since the last step)

	step int // steps taken (D updates)
	own  *nn.Owner
}

// recordedUpdate is one of the step's updates, recorded, and how many
// times a step runs it.
type recordedUpdate struct {
	seqs  []*vk.Sequence // a data-parallel trainer's second starts at Adam, once net's gradients are averaged
	net   netID
	times int
}

// NewTrainer builds the networks, their ops and both recorded steps, with
// parameters initialised from the seed.
func NewTrainer(d *vk.Device, cfg TrainConfig) (*Trainer, error) {
	return NewParallelTrainer(d, cfg, Ranks{})
}

// NewParallelTrainer is NewTrainer for one rank of a data-parallel run:
// every rank starts from the same parameters, and steps keep them equal bit
// for bit.
func NewParallelTrainer(d *vk.Device, cfg TrainConfig, ranks Ranks) (*Trainer, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}
	if err := ranks.check(cfg); err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}
	t := &Trainer{Config: cfg, dev: d, ranks: ranks, n: cfg.Batch / ranks.Count(), own: nn.NewOwner(d)}
	if err := t.build(); err != nil {
		t.Close()
		return nil, err
	}
	r := rand.New(rand.NewSource(int64(cfg.Seed)))
	if err := t.g.Init(r); err != nil {
		t.Close()
		return nil, fmt.Errorf("gan: initialising the generator: %w", err)
	}
	if err := t.d.Init(r); err != nil {
		t.Close()
		return nil, fmt.Errorf("gan: initialising the discriminator: %w", err)
	}
	if t.ema != nil {
		if err := t.initEMA(); err != nil {
			t.Close()
			return nil, err
		}
	}
	if err := t.weightsDrawn(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Trainer) build() error {
	cfg, o, n := t.Config, t.own, t.n
	first := t.ranks.Rank * n // the first row of the global batch this trainer trains
	t.g = nn.NewStore(o, cfg.Model.generator(), true)
	t.d = nn.NewStore(o, cfg.Model.discriminator(), true)
	opt := nn.Options{Train: true, Tiles: cfg.Kernels, Masks: masks, First: first}
	t.gNet = nn.NewNet(o, t.g, n, opt)
	t.dNet = nn.NewNet(o, t.d, n, opt)
	t.z = nn.NewLatentRows(o, "z", n, cfg.Model.Z, first, 0)
	for k := range cfg.DUpdates() {
		name := "real batch"
		if k > 0 {
			name = fmt.Sprintf("real batch %d", k+1)
		}
		t.reals = append(t.reals, o.Buffer(name, n*cfg.Model.imageFloats()))
		if cfg.Model.Conditional() {
			t.labels = append(t.labels, o.Buffer(name+" classes", n))
		}
	}
	t.dImage = o.Buffer("∂loss/∂image", n*cfg.Model.imageFloats())
	t.dLogit = o.Buffer("∂loss/∂logit", n)
	t.stats = o.Buffer("step stats", layers.LossStats*masks)
	for id, name := range [nets]string{"generator", "discriminator"} {
		t.clocks[id] = o.Clock(name, cfg.Seed)
	}
	for p, role := range [masks]layers.LossRole{passReal: layers.RealForD, passFake: layers.FakeForD, passG: layers.FakeForG} {
		loss, err := layers.NewLoss(t.dev, n, cfg.Loss, role, p) // the pass's slot in stats
		t.loss[p] = nn.Keep(o, loss, err)
	}
	adam := func(n netID) layers.AdamConfig { return layers.AdamConfig{LR: cfg.lr(n), Beta1: cfg.Beta1} }
	t.adam = [nets]*nn.Adam{nn.NewAdam(o, t.g, adam(gen)), nn.NewAdam(o, t.d, adam(disc))}
	if cfg.EMA > 0 {
		t.buildEMA()
	}
	t.buildAugment(first)
	if err := o.Err(); err != nil {
		return err
	}
	if !t.ranks.Alone() {
		t.stepBufs = []hostSpan{{t.stats, 0, layers.LossStats * masks}}
		floats := layers.LossStats * masks
		for id, p := range [nets]*nn.Store{t.g, t.d} {
			t.host[id] = make([]float32, p.Floats)
			if p.Stats != nil { // a network with batch norm
				t.stepBufs = append(t.stepBufs, hostSpan{p.Stats, floats, p.Stats.Size() / 4})
				floats += p.Stats.Size() / 4
			}
		}
		t.stepHost = make([]float32, floats)
	}
	return t.record()
}

// record records the step's updates, and the rearrangement of both
// networks' weights that host writes need.
func (t *Trainer) record() error {
	o := t.own
	for _, u := range t.Config.updates() {
		if u.times == 0 {
			continue
		}
		ru := recordedUpdate{times: u.times, seqs: []*vk.Sequence{o.Sequence(u.name)}}
		if !t.ranks.Alone() {
			ru.seqs = append(ru.seqs, o.Sequence(u.name+", from Adam on"))
		}
		if o.Err() != nil {
			return o.Err()
		}
		r := &recorder{t: t, s: ru.seqs[0], next: ru.seqs[1:]}
		u.recipe(r)
		ru.net = r.adamOf
		t.updates = append(t.updates, ru)
	}
	if t.prepare = o.Sequence("weights rearranged"); t.prepare == nil {
		return o.Err()
	}
	t.gNet.Prepare(t.prepare, nn.Loaded)
	t.dNet.Prepare(t.prepare, nn.Loaded)
	return nil
}

// recorder records a recipe (step.go) into a sequence, on the trainer's
// networks and buffers.
type recorder struct {
	t      *Trainer
	s      *vk.Sequence
	next   []*vk.Sequence // a data-parallel trainer's: where Adam goes, once the gradients are averaged
	clock  *layers.Clock  // the update's, from tick
	adamOf netID          // the network Adam updates
	real   *vk.Buffer     // the update's real batch, from useReal
	labels *vk.Buffer     // a conditional model's: its classes, from useReal
}

// mode is how pass p runs its network. A conditional model's passes read
// the classes of the update's real batch: the fakes of a D update are
// drawn for the real batch's classes, so the generator learns the classes
// in the data's proportions with no random draw of its own; a G update
// (which has no real batch) uses the step's last D update's, whose fakes
// the first G update reuses.
func (r *recorder) mode(p pass) nn.Mode {
	md := p.mode(r.clock)
	if r.t.labels != nil {
		md.Labels = r.labels
		if md.Labels == nil {
			md.Labels = r.t.labels[len(r.t.labels)-1]
		}
	}
	return md
}

func (r *recorder) net(n netID) *nn.Net {
	if n == gen {
		return r.t.gNet
	}
	return r.t.dNet
}

// input is what pass p's network runs on: a discriminator pass's batch
// augmented, when the run augments.
func (r *recorder) input(p pass) *vk.Buffer {
	if p.net() == disc && r.t.aug != nil {
		return r.t.aug.Out
	}
	return r.batch(p)
}

// batch is pass p's batch before any augmentation.
func (r *recorder) batch(p pass) *vk.Buffer {
	switch p {
	case passReal:
		return r.real
	case passFake, passG:
		return r.t.gNet.Out()
	}
	return r.t.z.Z
}

// gradOut is where the gradient backward starts from: the loss's, for the
// discriminator; for the generator, the discriminator's at its input.
func (r *recorder) gradOut(p pass) *vk.Buffer {
	if p.net() == disc {
		return r.t.dLogit
	}
	return r.t.dImage
}

func (r *recorder) tick(n netID) {
	r.s.Scope(nn.Scope(scopeSetup, nn.PhaseForward))
	r.clock = r.t.clocks[n]
	r.clock.Tick(r.s)
}

func (r *recorder) useReal(k int) {
	r.real = r.t.reals[k]
	if r.t.labels != nil {
		r.labels = r.t.labels[k]
	}
}

func (r *recorder) zeroGrads(n netID) {
	r.s.Scope(nn.Scope(scopeSetup, nn.PhaseForward))
	r.t.params(n).ZeroGrads(r.s)
}

func (r *recorder) drawZ() {
	r.s.Scope(nn.Scope(scopeSetup, nn.PhaseForward))
	r.t.z.DrawWith(r.s, r.clock)
}

func (r *recorder) forward(p pass) { r.net(p.net()).Forward(r.s, r.input(p), r.mode(p)) }

func (r *recorder) forwardAgain(p pass) { r.net(p.net()).ForwardAgain(r.s, r.input(p)) }

func (r *recorder) loss(p pass) {
	r.s.Scope(nn.Scope(scopeLoss, nn.PhaseForward))
	r.t.loss[p].Forward(r.s, r.t.dLogit, r.t.stats, r.t.dNet.Out())
}

func (r *recorder) backward(p pass, g nn.Grads) {
	r.net(p.net()).Backward(r.s, r.input(p), r.gradOut(p), r.gradIn(p), r.mode(p), g)
}

// gradIn is where backward leaves the gradient at pass p's input: for a
// discriminator pass on augmented images, where the augmentation's
// backward takes it from.
func (r *recorder) gradIn(p pass) *vk.Buffer {
	if p.net() == disc && r.t.aug != nil {
		return r.t.dAug
	}
	return r.t.dImage
}

func (r *recorder) mirror() {
	if r.t.mirror == nil {
		return
	}
	r.s.Scope(nn.Scope(scopeAugment, nn.PhaseForward))
	r.t.mirror.Forward(r.s, r.real, r.clock)
}

func (r *recorder) augment(p pass) {
	if r.t.aug == nil {
		return
	}
	r.s.Scope(nn.Scope(scopeAugment, nn.PhaseForward))
	r.t.aug.Forward(r.s, r.batch(p), r.mode(p))
}

func (r *recorder) unaugment(p pass) {
	if r.t.aug == nil {
		return
	}
	r.s.Scope(nn.Scope(scopeAugment, nn.PhaseBackward))
	r.t.aug.Backward(r.s, r.t.dImage, r.t.dAug, r.mode(p))
}

func (r *recorder) adam(n netID) {
	if len(r.next) > 0 {
		r.s, r.next = r.next[0], r.next[1:]
	}
	r.adamOf = n
	r.s.Scope(nn.Scope(scopeAdam, nn.PhaseBackward))
	r.t.adam[n].Update(r.s, r.clock)
	r.net(n).Prepare(r.s, nn.Updated)
}

func (r *recorder) ema() {
	if r.t.ema == nil {
		return
	}
	r.s.Scope(nn.Scope(scopeEMA, nn.PhaseBackward))
	r.t.emaAvg.Update(r.s, r.clock)
}

// weightsChanged rearranges both networks' weights for the GEMMs, which
// the recorded updates do after each Adam step: it is for weights written
// from the host (initialisation, a checkpoint).
func (t *Trainer) weightsChanged() error {
	if err := t.prepare.Submit(); err != nil {
		return fmt.Errorf("gan: rearranging the weights: %w", err)
	}
	return nil
}

// weightsDrawn prepares freshly initialised weights as weightsChanged
// does, and spectral norm first takes the power iteration PyTorch's first
// training-mode forward would (its u and v are fresh draws).
func (t *Trainer) weightsDrawn() error {
	s, err := t.dev.NewSequence("weights drawn")
	if err != nil {
		return fmt.Errorf("gan: preparing the initial weights: %w", err)
	}
	defer s.Close()
	t.gNet.Prepare(s, nn.Updated)
	t.dNet.Prepare(s, nn.Updated)
	if err := s.Submit(); err != nil {
		return fmt.Errorf("gan: preparing the initial weights: %w", err)
	}
	return nil
}

// Close destroys everything the trainer built.
func (t *Trainer) Close() { t.own.Close() }

// Real is the buffer the next step's real batch goes into: the trainer's
// rows of the batch (Rows), images of Channels×Size×Size floats in
// [-1, 1], NCHW. With DSteps, it is the first D update's.
func (t *Trainer) Real() *vk.Buffer { return t.reals[0] }

// RealBatch is the buffer the next step's k-th D update's real batch goes
// into, k < Config.DUpdates().
func (t *Trainer) RealBatch(k int) *vk.Buffer { return t.reals[k] }

// RealLabels is the buffer the classes of RealBatch(k)'s images go into, a
// uint32 each (vk.Uint32Bytes), for a conditional model; nil for an
// unconditional one.
func (t *Trainer) RealLabels(k int) *vk.Buffer {
	if t.labels == nil {
		return nil
	}
	return t.labels[k]
}

// Steps is how many steps the trainer has taken (or resumed from).
func (t *Trainer) Steps() int { return t.step }

// Step runs one training step on the real batches in RealBatch:
// DUpdates discriminator updates and GSteps generator updates. It returns
// the step's losses and probabilities (the last D update's).
func (t *Trainer) Step() (Stats, error) {
	t.reduceTime = 0
	for _, u := range t.updates {
		for range u.times {
			for i, s := range u.seqs {
				if i > 0 {
					if err := t.averageGrads(u.net); err != nil {
						return Stats{}, fmt.Errorf("gan: step %d: averaging the %s's gradients over the ranks: %w", t.step+1, t.params(u.net).Spec.Name, err)
					}
				}
				if err := s.Submit(); err != nil {
					return Stats{}, fmt.Errorf("gan: step %d: %w", t.step+1, err)
				}
			}
		}
	}
	t.step++
	t.emaCalibrated = false
	v, err := t.stepStats()
	if err != nil {
		return Stats{}, fmt.Errorf("gan: step %d: %w", t.step, err)
	}
	const k = layers.LossStats
	st := Stats{DReal: v[k*passReal], DX: v[k*passReal+1], DFake: v[k*passFake], DGZ: v[k*passFake+1],
		G: v[k*passG], DGZAfter: v[k*passG+1]}
	if t.aug != nil {
		st.AugmentP, st.RT = t.ada.p, v[k*passReal+2]
		if err := t.adapt(st.RT); err != nil {
			return Stats{}, fmt.Errorf("gan: step %d: %w", t.step, err)
		}
	}
	return st, nil
}

func (t *Trainer) params(n netID) *nn.Store {
	if n == gen {
		return t.g
	}
	return t.d
}

// setStep moves the trainer to a step it resumes from: the clocks that
// drive z, dropout and Adam's bias correction follow it.
func (t *Trainer) setStep(step int) error {
	if err := t.clocks[disc].Set(t.Config.Seed, uint32(step*t.Config.DUpdates())); err != nil {
		return err
	}
	if err := t.clocks[gen].Set(t.Config.Seed, uint32(step*t.Config.GSteps)); err != nil {
		return err
	}
	t.step = step
	return nil
}
