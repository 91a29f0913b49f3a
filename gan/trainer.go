package gan

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand"
	"reflect"
	"time"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// TrainConfig is a training run's hyper-parameters: what fixes its
// arithmetic, step by step.
type TrainConfig struct {
	Model  ModelConfig `json:"model"`
	Batch  int         `json:"batch"`
	LR     float32     `json:"lr"`
	Beta1  float32     `json:"beta1"`
	GSteps int         `json:"g_steps"` // generator updates per discriminator update
	Seed   uint64      `json:"seed"`
	// EMA is the decay of the moving average of the generator's weights
	// (ema.go), ramped up at the start; 0 keeps none.
	EMA float32 `json:"ema,omitempty"`
	// Kernels is the tile of each GEMM pass of the step, which fixes the
	// order its sums run in; a pass it lacks gets the heuristic's. A new
	// run records every pass's (KernelPlan), so a resume builds the same
	// kernels whatever the tuning cache says by then.
	Kernels layers.Plan `json:"kernels,omitempty"`
}

// Equal reports whether two configurations train the same bits (no
// kernels recorded and an empty record are the same).
func (c TrainConfig) Equal(o TrainConfig) bool {
	if len(c.Kernels) == 0 && len(o.Kernels) == 0 {
		c.Kernels, o.Kernels = nil, nil
	}
	return reflect.DeepEqual(c, o)
}

// maxBatch bounds the batch size before the device's own limits (checkBatch)
// are asked, so that sizes computed from it cannot overflow.
const maxBatch = 1 << 20

// Check reports a configuration no trainer can be built from.
func (c TrainConfig) Check() error {
	if err := c.Model.Check(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch %d must be at least 1", c.Batch)
	case c.Batch > maxBatch:
		return fmt.Errorf("batch %d must be at most %d", c.Batch, maxBatch)
	case c.LR <= 0:
		return fmt.Errorf("learning rate %g must be positive", c.LR)
	case c.Beta1 < 0 || c.Beta1 >= 1:
		return fmt.Errorf("beta1 %g must be in [0, 1)", c.Beta1)
	case c.GSteps < 1:
		return fmt.Errorf("g-steps %d must be at least 1", c.GSteps)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("ema %g must be in [0, 1) (0 keeps no moving average)", c.EMA)
	}
	return nil
}

// Stats are what a step reports: the discriminator's loss on the real and
// the fake batch (D's loss is their sum), the generator's loss (of its last
// update), and the mean probability D gave the real batch, D(x), and the
// fakes, D(G(z)) (before D's update; the generator's step reports it after).
type Stats struct {
	DReal, DFake, G   float32
	DX, DGZ, DGZAfter float32
}

// DLoss is the discriminator's loss, BCE(real, 1) + BCE(fake, 0).
func (s Stats) DLoss() float32 { return s.DReal + s.DFake }

// Finite reports whether every loss and probability is a number and not
// infinite: a step that is not has diverged.
func (s Stats) Finite() bool { return finite([]float32{s.DReal, s.DFake, s.G, s.DX, s.DGZ}) }

// NotFinite names the first of the step's values that is NaN or infinite,
// and the update that computed it; "" where every one is finite.
func (s Stats) NotFinite() string {
	for _, v := range []struct {
		what string
		v    float32
	}{{"the D update's loss on the real batch", s.DReal}, {"the D update's loss on the fakes", s.DFake},
		{"D(x) in the D update", s.DX}, {"D(G(z)) in the D update", s.DGZ},
		{"the last G update's loss", s.G}, {"D(G(z)) in the last G update", s.DGZAfter}} {
		if !finite([]float32{v.v}) {
			return fmt.Sprintf("%s is %v", v.what, v.v)
		}
	}
	return ""
}

// ErrDiverged is returned when a loss or a parameter becomes NaN or
// infinite.
var ErrDiverged = errors.New("training diverged")

// Parallel is a trainer's part in a data-parallel run over Size ranks
// (one process each, as mpirun starts them): it trains rows
// [Rank·B/Size, (Rank+1)·B/Size) of each global batch of B, drawing those
// rows' z and dropout masks of the global batch's draw, and Sum adds a
// vector over the ranks in place, every rank getting the same bits (as
// MPI_Allreduce does). The zero Parallel is a trainer alone.
type Parallel struct {
	Rank, Size int
	Sum        func([]float32) error
}

// alone reports whether the trainer has no other ranks.
func (p Parallel) alone() bool { return p.Size <= 1 }

// check reports a Parallel no trainer of cfg can take part in.
func (p Parallel) check(cfg TrainConfig) error {
	if p.alone() {
		return nil
	}
	switch {
	case p.Sum == nil:
		return fmt.Errorf("a data-parallel trainer needs a Sum")
	case p.Rank < 0 || p.Rank >= p.Size:
		return fmt.Errorf("rank %d is not one of %d", p.Rank, p.Size)
	}
	return CheckRanks(cfg, p.Size)
}

// CheckRanks reports a configuration that cannot be trained on this many
// ranks: the batch must divide among them, and each rank's rows of the
// batch's z and dropout masks start at a multiple of 4 floats (Philox
// draws four at a time).
func CheckRanks(cfg TrainConfig, ranks int) error {
	if ranks <= 1 {
		return nil
	}
	if cfg.Batch%ranks != 0 {
		return fmt.Errorf("batch %d does not divide among %d processes: give --batch a multiple of %d", cfg.Batch, ranks, ranks)
	}
	n := cfg.Batch / ranks
	if n*cfg.Model.Z%4 != 0 {
		return fmt.Errorf("%d processes take %d samples each, whose z (%d floats each) is not a multiple of 4 floats; give --batch a multiple of %d",
			ranks, n, cfg.Model.Z, 4*ranks)
	}
	for _, l := range cfg.Model.discriminator().layers {
		if l.kind == dropout && n*l.outCount()%4 != 0 {
			return fmt.Errorf("%d processes take %d samples each, whose dropout masks are not a multiple of 4 floats; give --batch a multiple of %d",
				ranks, n, 4*ranks)
		}
	}
	return nil
}

// AllreduceFloats is how many floats a data-parallel step averages over
// the ranks, per update in step order (the discriminator's gradients, then
// the generator's for each of its updates) and last the losses and both
// networks' batch-norm running statistics: the tensors themselves, without
// the device's alignment padding between them that the trainer's Sums
// carry too.
func (c TrainConfig) AllreduceFloats() []int {
	count := func(s netSpec) (params, running int) {
		for _, l := range s.layers {
			for _, t := range l.params(s.name) {
				params += t.count()
			}
			if l.kind == batchNorm {
				running += 2 * l.k
			}
		}
		return params, running
	}
	g, gRunning := count(c.Model.generator())
	d, dRunning := count(c.Model.discriminator())
	out := []int{d}
	for range c.GSteps {
		out = append(out, g)
	}
	return append(out, 2*masks+gRunning+dRunning)
}

// Trainer owns a DCGAN on a device and the recorded updates of its step
// (step.go): the discriminator's (on a real batch the caller uploads to
// Real, and a fake batch from fresh z) and the generator's, replayed GSteps
// times. A data-parallel trainer (Parallel) averages each update's
// gradients over the ranks before Adam, and the batch norms' running
// statistics and the step's losses after the step.
type Trainer struct {
	Config TrainConfig
	dev    *vk.Device
	par    Parallel
	n      int // the batch this trainer trains: Batch/Size rows of it

	// A data-parallel trainer's host buffers for Sum, allocated once: each
	// network's gradients, and the losses with both networks' running
	// statistics after the step.
	host       [nets][]float32
	stepHost   []float32
	stepBufs   []hostSpan    // where stepHost's floats come from: the losses first
	reduceTime time.Duration // the last step's in Sum and its copies

	g, d       *netParams
	gNet, dNet *net
	clocks     [nets]*layers.Clock  // each update's: z, dropout masks, Adam's step
	adam       [nets][]*layers.Adam // one per piece of the network's parameter store
	bce        [masks]*layers.BCE   // the loss of each discriminator pass
	normal     *layers.Normal       // z
	updates    []recordedUpdate     // the step, in order
	prepare    *vk.Sequence         // both networks' weights rearranged (weightsChanged)

	z, real, dImage, dLogit, stats *vk.Buffer

	ema           *netParams    // the EMA generator (ema.go); nil without one
	emaOps        []*layers.EMA // one per piece of the store
	calib         *calibrator   // its batch norms' running statistics
	emaCalibrated bool          // whether they are its weights' (since the last step)

	step   int // steps taken (D updates)
	closer []interface{ Close() }
}

// hostSpan is where a device buffer's first floats sit in a host buffer.
type hostSpan struct {
	buf         *vk.Buffer
	off, floats int
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
	return NewParallelTrainer(d, cfg, Parallel{})
}

// NewParallelTrainer is NewTrainer for one rank of a data-parallel run:
// every rank starts from the same parameters, and steps keep them equal bit
// for bit.
func NewParallelTrainer(d *vk.Device, cfg TrainConfig, par Parallel) (*Trainer, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}
	if err := par.check(cfg); err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}
	if par.alone() {
		par = Parallel{Size: 1}
	}
	t := &Trainer{Config: cfg, dev: d, par: par, n: cfg.Batch / par.Size}
	if err := t.build(); err != nil {
		t.Close()
		return nil, err
	}
	r := rand.New(rand.NewSource(int64(cfg.Seed)))
	if err := t.g.init(r); err != nil {
		t.Close()
		return nil, fmt.Errorf("gan: initialising the generator: %w", err)
	}
	if err := t.d.init(r); err != nil {
		t.Close()
		return nil, fmt.Errorf("gan: initialising the discriminator: %w", err)
	}
	if t.ema != nil {
		if err := t.initEMA(); err != nil {
			t.Close()
			return nil, err
		}
	}
	if err := t.weightsChanged(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Trainer) own(c interface{ Close() }) { t.closer = append(t.closer, c) }

func (t *Trainer) build() error {
	cfg, d, n := t.Config, t.dev, t.n
	first := t.par.Rank * n // the first row of the global batch this trainer trains
	var err error
	if t.g, err = newNetParams(d, cfg.Model.generator(), true); err != nil {
		return err
	}
	t.own(t.g)
	if t.d, err = newNetParams(d, cfg.Model.discriminator(), true); err != nil {
		return err
	}
	t.own(t.d)
	if t.gNet, err = newNet(d, t.g, n, netOptions{train: true, tiles: cfg.Kernels, first: first}); err != nil {
		return err
	}
	t.own(t.gNet)
	if t.dNet, err = newNet(d, t.d, n, netOptions{train: true, tiles: cfg.Kernels, first: first}); err != nil {
		return err
	}
	t.own(t.dNet)
	side := cfg.Model.Size()
	image := cfg.Model.Channels * side * side
	for _, b := range []struct {
		dst    **vk.Buffer
		name   string
		floats int
	}{{&t.z, "z", n * cfg.Model.Z}, {&t.real, "real batch", n * image}, {&t.dImage, "∂loss/∂image", n * image},
		{&t.dLogit, "∂loss/∂logit", n}, {&t.stats, "step stats", 2 * masks}} {
		if *b.dst, err = d.NewBuffer(b.name, 4*b.floats); err != nil {
			return fmt.Errorf("gan: %w", err)
		}
		t.own(*b.dst)
	}
	if t.normal, err = layers.NewNormalFrom(d, first*cfg.Model.Z, n*cfg.Model.Z, 0); err != nil {
		return err
	}
	t.own(t.normal)
	for id, name := range [nets]string{"generator", "discriminator"} {
		if t.clocks[id], err = layers.NewClock(d, name, cfg.Seed); err != nil {
			return err
		}
		t.own(t.clocks[id])
	}
	for p, target := range [masks]float32{passReal: 1, passFake: 0, passG: 1} {
		if t.bce[p], err = layers.NewBCE(d, n, target, p); err != nil { // the pass's slot in stats
			return err
		}
		t.own(t.bce[p])
	}
	adam := layers.AdamConfig{LR: cfg.LR, Beta1: cfg.Beta1}
	for id, p := range [nets]*netParams{t.g, t.d} {
		for _, part := range p.parts {
			a, err := layers.NewAdam(d, part[0].Size()/4, adam)
			if err != nil {
				return err
			}
			t.own(a)
			t.adam[id] = append(t.adam[id], a)
		}
	}
	if cfg.EMA > 0 {
		if err := t.buildEMA(); err != nil {
			return err
		}
	}
	if !t.par.alone() {
		t.stepBufs = []hostSpan{{t.stats, 0, 2 * masks}}
		floats := 2 * masks
		for id, p := range [nets]*netParams{t.g, t.d} {
			t.host[id] = make([]float32, p.floats)
			if p.stats != nil { // a network with batch norm
				t.stepBufs = append(t.stepBufs, hostSpan{p.stats, floats, p.stats.Size() / 4})
				floats += p.stats.Size() / 4
			}
		}
		t.stepHost = make([]float32, floats)
	}
	return t.record()
}

// record records the step's updates, and the rearrangement of both
// networks' weights that host writes need.
func (t *Trainer) record() error {
	d := t.dev
	var err error
	for _, u := range t.Config.updates() {
		if u.times == 0 {
			continue
		}
		names := []string{u.name}
		if !t.par.alone() {
			names = append(names, u.name+", from Adam on")
		}
		ru := recordedUpdate{times: u.times}
		for _, name := range names {
			s, err := d.NewSequence(name)
			if err != nil {
				return err
			}
			t.own(s)
			ru.seqs = append(ru.seqs, s)
		}
		r := &recorder{t: t, s: ru.seqs[0], next: ru.seqs[1:]}
		u.recipe(r)
		ru.net = r.adamOf
		t.updates = append(t.updates, ru)
	}
	if t.prepare, err = d.NewSequence("weights rearranged"); err != nil {
		return err
	}
	t.own(t.prepare)
	t.gNet.prepare(t.prepare)
	t.dNet.prepare(t.prepare)
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
}

func (r *recorder) net(n netID) *net {
	if n == gen {
		return r.t.gNet
	}
	return r.t.dNet
}

func (r *recorder) params(n netID) *netParams { return r.net(n).p }

// input is what pass p's network runs on.
func (r *recorder) input(p pass) *vk.Buffer {
	switch p {
	case passReal:
		return r.t.real
	case passFake, passG:
		return r.t.gNet.out()
	}
	return r.t.z
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
	r.s.Scope(scope(scopeSetup, phaseForward))
	r.clock = r.t.clocks[n]
	r.clock.Tick(r.s)
}

func (r *recorder) zeroGrads(n netID) {
	r.s.Scope(scope(scopeSetup, phaseForward))
	r.params(n).zeroGrads(r.s)
}

func (r *recorder) drawZ() {
	r.s.Scope(scope(scopeSetup, phaseForward))
	r.t.normal.Draw(r.s, r.t.z, r.clock)
}

func (r *recorder) forward(p pass) { r.net(p.net()).forward(r.s, r.input(p), p, r.clock) }

func (r *recorder) forwardAgain(p pass) { r.net(p.net()).forwardAgain(r.s, r.input(p)) }

func (r *recorder) loss(p pass) {
	r.s.Scope(scope(scopeLoss, phaseForward))
	r.t.bce[p].Forward(r.s, r.t.dLogit, r.t.stats, r.t.dNet.out())
}

func (r *recorder) backward(p pass, g grads) {
	r.net(p.net()).backward(r.s, r.input(p), r.gradOut(p), r.t.dImage, p, g, r.clock)
}

func (r *recorder) adam(n netID) {
	if len(r.next) > 0 {
		r.s, r.next = r.next[0], r.next[1:]
	}
	r.adamOf = n
	r.s.Scope(scope(scopeAdam, phaseBackward))
	for i, part := range r.params(n).parts {
		r.t.adam[n][i].Update(r.s, part[0], part[1], part[2], part[3], r.clock)
	}
	r.net(n).prepare(r.s)
}

func (r *recorder) ema() {
	if r.t.ema == nil {
		return
	}
	r.s.Scope(scope(scopeEMA, phaseBackward))
	for i, part := range r.t.ema.parts {
		r.t.emaOps[i].Update(r.s, part[0], r.t.g.parts[i][0], r.clock)
	}
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

// Close destroys everything the trainer built.
func (t *Trainer) Close() {
	for i := len(t.closer) - 1; i >= 0; i-- {
		t.closer[i].Close()
	}
	t.closer = nil
}

// Real is the buffer the next step's real batch goes into: the trainer's
// rows of the batch (Rows), images of Channels×Size×Size floats in
// [-1, 1], NCHW.
func (t *Trainer) Real() *vk.Buffer { return t.real }

// Rows are the rows [lo, hi) of each global batch the trainer trains: all
// of them alone, its share in a data-parallel run.
func (t *Trainer) Rows() (lo, hi int) { return t.par.Rank * t.n, (t.par.Rank + 1) * t.n }

// ReduceTime is the time the last step spent averaging over the ranks
// (Sum, and the copies to and from the device around it); 0 alone.
func (t *Trainer) ReduceTime() time.Duration { return t.reduceTime }

// Steps is how many steps the trainer has taken (or resumed from).
func (t *Trainer) Steps() int { return t.step }

// Step runs one training step on the real batch in Real: one discriminator
// update and GSteps generator updates. It returns the step's losses and
// probabilities.
func (t *Trainer) Step() (Stats, error) {
	t.reduceTime = 0
	for _, u := range t.updates {
		for range u.times {
			for i, s := range u.seqs {
				if i > 0 {
					if err := t.averageGrads(u.net); err != nil {
						return Stats{}, fmt.Errorf("gan: step %d: averaging the %s's gradients over the ranks: %w", t.step+1, t.params(u.net).spec.name, err)
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
	return Stats{DReal: v[2*passReal], DX: v[2*passReal+1], DFake: v[2*passFake], DGZ: v[2*passFake+1],
		G: v[2*passG], DGZAfter: v[2*passG+1]}, nil
}

func (t *Trainer) params(n netID) *netParams {
	if n == gen {
		return t.g
	}
	return t.d
}

// averageGrads replaces network n's gradients with their mean over the
// ranks, through the host: one Sum of the whole gradient store.
func (t *Trainer) averageGrads(n netID) error {
	start := time.Now()
	defer func() { t.reduceTime += time.Since(start) }()
	p, v := t.params(n), t.host[n]
	if err := p.grad.Download(0, vk.Float32Bytes(v)); err != nil {
		return err
	}
	if err := t.mean(v); err != nil {
		return err
	}
	return p.grad.Upload(0, vk.Float32Bytes(v))
}

// mean replaces v with its mean over the ranks: the sum, times 1/Size in
// float32 (exact for a power of two), the same bits on every rank.
func (t *Trainer) mean(v []float32) error {
	if err := t.par.Sum(v); err != nil {
		return err
	}
	inv := 1 / float32(t.par.Size)
	for i := range v {
		v[i] *= inv
	}
	return nil
}

// stepStats reads the step's losses and probabilities. A data-parallel
// trainer averages them over the ranks (each rank's are its rows' means,
// so their mean is the global batch's), together with both networks'
// batch-norm running statistics, which each rank moved towards its own
// rows' statistics: averaged, the running means are those of the global
// batch (the update is linear), and every rank keeps the same bits.
func (t *Trainer) stepStats() ([]float32, error) {
	if t.par.alone() {
		return readFloats(t.stats, 2*masks)
	}
	start := time.Now()
	defer func() { t.reduceTime += time.Since(start) }()
	v := t.stepHost
	for _, b := range t.stepBufs {
		if err := b.buf.Download(0, vk.Float32Bytes(v[b.off:b.off+b.floats])); err != nil {
			return nil, err
		}
	}
	if err := t.mean(v); err != nil {
		return nil, fmt.Errorf("averaging the losses and running statistics over the ranks: %w", err)
	}
	for _, b := range t.stepBufs[1:] { // the running statistics go back; the losses are returned
		if err := b.buf.Upload(0, vk.Float32Bytes(v[b.off:b.off+b.floats])); err != nil {
			return nil, err
		}
	}
	return v[:2*masks], nil
}

// replicated is the trainer's state that steps change and every rank of a
// data-parallel run holds alike: both networks' parameters, Adam's moments
// and running statistics, and the EMA generator's parameters (its running
// statistics are calibrated from them when needed).
func (t *Trainer) replicated() []*vk.Buffer {
	var out []*vk.Buffer
	for _, b := range []*vk.Buffer{t.g.val, t.g.m, t.g.v, t.g.stats, t.d.val, t.d.m, t.d.v, t.d.stats} {
		if b != nil {
			out = append(out, b)
		}
	}
	if t.ema != nil {
		out = append(out, t.ema.val)
	}
	return out
}

// Fingerprint is a CRC-32C of the trainer's replicated state: ranks of a
// data-parallel run that hold the same bits have the same fingerprint.
// Their devices compute the same bits when they are of one kind; devices of
// different kinds may round differently, and ShareState puts them right.
func (t *Trainer) Fingerprint() (uint32, error) {
	table := crc32.MakeTable(crc32.Castagnoli)
	var sum uint32
	for _, b := range t.replicated() {
		v := make([]byte, b.Size())
		if err := b.Download(0, v); err != nil {
			return 0, fmt.Errorf("gan: reading %s for its fingerprint: %w", b.Name(), err)
		}
		sum = crc32.Update(sum, table, v)
	}
	return sum, nil
}

// ShareState replaces every rank's replicated state with rank 0's:
// bcast gives every rank rank 0's bytes (MPI_Bcast from rank 0).
func (t *Trainer) ShareState(bcast func([]byte) error) error {
	for _, b := range t.replicated() {
		v := make([]byte, b.Size())
		if err := b.Download(0, v); err != nil {
			return fmt.Errorf("gan: reading %s: %w", b.Name(), err)
		}
		if err := bcast(v); err != nil {
			return fmt.Errorf("gan: giving every rank rank 0's %s: %w", b.Name(), err)
		}
		if err := b.Upload(0, v); err != nil {
			return fmt.Errorf("gan: writing %s: %w", b.Name(), err)
		}
	}
	t.emaCalibrated = false
	return t.weightsChanged()
}

// setStep moves the trainer to a step it resumes from: the clocks that
// drive z, dropout and Adam's bias correction follow it.
func (t *Trainer) setStep(step int) error {
	if err := t.clocks[disc].Set(t.Config.Seed, uint32(step)); err != nil {
		return err
	}
	if err := t.clocks[gen].Set(t.Config.Seed, uint32(step*t.Config.GSteps)); err != nil {
		return err
	}
	t.step = step
	return nil
}
