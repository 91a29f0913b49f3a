package gan

import (
	"fmt"
	"math/rand"
	"reflect"

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

// The stats buffer's slots, two floats each (loss, mean probability), as
// layers.BCE writes them.
const (
	slotReal = iota
	slotFake
	slotG
	slots
)

// Trainer owns a DCGAN on a device and its two recorded steps: the
// discriminator's (on a real batch the caller uploads to Real, and a fake
// batch from fresh z) and the generator's, replayed GSteps times.
type Trainer struct {
	Config TrainConfig
	dev    *vk.Device

	g, d       *netParams
	gNet, dNet *net

	z, real, dImage, dLogit, stats *vk.Buffer
	normal                         *layers.Normal
	clockD, clockG                 *layers.Clock
	bceReal, bceFake, bceG         *layers.BCE
	adamD, adamG                   []*layers.Adam
	dStep, gFirst, gStep           *vk.Sequence
	prepare                        *vk.Sequence // both networks' weights rearranged (weightsChanged)

	step   int // steps taken (D updates)
	closer []interface{ Close() }
}

// NewTrainer builds the networks, their ops and both recorded steps, with
// parameters initialised from the seed.
func NewTrainer(d *vk.Device, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}
	t := &Trainer{Config: cfg, dev: d}
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
	if err := t.weightsChanged(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Trainer) own(c interface{ Close() }) { t.closer = append(t.closer, c) }

func (t *Trainer) build() error {
	cfg, d, n := t.Config, t.dev, t.Config.Batch
	var err error
	if t.g, err = newNetParams(d, cfg.Model.generator()); err != nil {
		return err
	}
	t.own(t.g)
	if t.d, err = newNetParams(d, cfg.Model.discriminator()); err != nil {
		return err
	}
	t.own(t.d)
	if t.gNet, err = newNet(d, t.g, n, true, cfg.Kernels); err != nil {
		return err
	}
	t.own(t.gNet)
	if t.dNet, err = newNet(d, t.d, n, true, cfg.Kernels); err != nil {
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
		{&t.dLogit, "∂loss/∂logit", n}, {&t.stats, "step stats", 2 * slots}} {
		if *b.dst, err = d.NewBuffer(b.name, 4*b.floats); err != nil {
			return fmt.Errorf("gan: %w", err)
		}
		t.own(*b.dst)
	}
	if t.normal, err = layers.NewNormal(d, n*cfg.Model.Z, 0); err != nil {
		return err
	}
	t.own(t.normal)
	if t.clockD, err = layers.NewClock(d, "discriminator", cfg.Seed); err != nil {
		return err
	}
	t.own(t.clockD)
	if t.clockG, err = layers.NewClock(d, "generator", cfg.Seed); err != nil {
		return err
	}
	t.own(t.clockG)
	for _, b := range []struct {
		dst    **layers.BCE
		target float32
		slot   int
	}{{&t.bceReal, 1, slotReal}, {&t.bceFake, 0, slotFake}, {&t.bceG, 1, slotG}} {
		if *b.dst, err = layers.NewBCE(d, n, b.target, b.slot); err != nil {
			return err
		}
		t.own(*b.dst)
	}
	adam := layers.AdamConfig{LR: cfg.LR, Beta1: cfg.Beta1}
	for _, net := range []struct {
		p   *netParams
		dst *[]*layers.Adam
	}{{t.d, &t.adamD}, {t.g, &t.adamG}} {
		for _, part := range net.p.parts {
			a, err := layers.NewAdam(d, part[0].Size()/4, adam)
			if err != nil {
				return err
			}
			t.own(a)
			*net.dst = append(*net.dst, a)
		}
	}
	if t.dStep, err = d.NewSequence("discriminator step"); err != nil {
		return err
	}
	t.own(t.dStep)
	t.recordD(t.dStep)
	if t.gFirst, err = d.NewSequence("first generator step"); err != nil {
		return err
	}
	t.own(t.gFirst)
	t.recordG(t.gFirst, true)
	if t.gStep, err = d.NewSequence("generator step"); err != nil {
		return err
	}
	t.own(t.gStep)
	t.recordG(t.gStep, false)
	if t.prepare, err = d.NewSequence("weights rearranged"); err != nil {
		return err
	}
	t.own(t.prepare)
	t.gNet.prepare(t.prepare)
	t.dNet.prepare(t.prepare)
	return nil
}

// recordD records the discriminator's update: fresh z, a fake batch, the
// loss and gradients on the real batch and then on the fake one (each
// backward right after its forward, so batch norm's saved statistics are
// the pass's own), and Adam.
func (t *Trainer) recordD(s *vk.Sequence) {
	s.Scope(scope(scopeSetup, phaseForward))
	t.clockD.Tick(s)
	t.d.zeroGrads(s)
	t.normal.Draw(s, t.z, t.clockD)
	t.gNet.forward(s, t.z, true, 0, nil)
	for _, p := range []struct {
		x    *vk.Buffer
		bce  *layers.BCE
		pass int
	}{{t.real, t.bceReal, passReal}, {t.gNet.out(), t.bceFake, passFake}} {
		t.dNet.forward(s, p.x, true, p.pass, t.clockD)
		s.Scope(scope(scopeLoss, phaseForward))
		p.bce.Forward(s, t.dLogit, t.stats, t.dNet.out())
		t.dNet.backward(s, p.x, t.dLogit, nil, true, p.pass, t.clockD)
	}
	s.Scope(scope(scopeAdam, phaseBackward))
	for i, p := range t.d.parts {
		t.adamD[i].Update(s, p[0], p[1], p[2], p[3], t.clockD)
	}
	t.dNet.prepare(s)
}

// recordG records one generator update on the step's z: the generator
// again (its weights move between its updates), the discriminator's verdict
// against target 1 (the non-saturating loss), the gradient back through
// the discriminator to the images and through the generator, and Adam. The
// first update of a step (first) does not run the generator again: its
// weights and z are the discriminator update's, so its output and every
// activation backward needs are still in place; only batch norm's running
// statistics move again, as the second forward would move them
// (carpedm20's step runs the generator three times).
func (t *Trainer) recordG(s *vk.Sequence, first bool) {
	s.Scope(scope(scopeSetup, phaseForward))
	t.clockG.Tick(s)
	t.g.zeroGrads(s)
	if first {
		t.gNet.forwardAgain(s, t.z)
	} else {
		t.gNet.forward(s, t.z, true, 0, nil)
	}
	t.dNet.forward(s, t.gNet.out(), true, passG, t.clockG)
	s.Scope(scope(scopeLoss, phaseForward))
	t.bceG.Forward(s, t.dLogit, t.stats, t.dNet.out())
	t.dNet.backward(s, t.gNet.out(), t.dLogit, t.dImage, false, passG, t.clockG)
	t.gNet.backward(s, t.z, t.dImage, nil, true, 0, nil)
	s.Scope(scope(scopeAdam, phaseBackward))
	for i, p := range t.g.parts {
		t.adamG[i].Update(s, p[0], p[1], p[2], p[3], t.clockG)
	}
	t.gNet.prepare(s)
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

// Real is the buffer the next step's real batch goes into: Batch images of
// Channels×Size×Size floats in [-1, 1], NCHW.
func (t *Trainer) Real() *vk.Buffer { return t.real }

// Steps is how many steps the trainer has taken (or resumed from).
func (t *Trainer) Steps() int { return t.step }

// Step runs one training step on the real batch in Real: one discriminator
// update and GSteps generator updates. It returns the step's losses and
// probabilities.
func (t *Trainer) Step() (Stats, error) {
	if err := t.dStep.Submit(); err != nil {
		return Stats{}, fmt.Errorf("gan: step %d: %w", t.step+1, err)
	}
	for i := range t.Config.GSteps {
		g := t.gStep
		if i == 0 {
			g = t.gFirst
		}
		if err := g.Submit(); err != nil {
			return Stats{}, fmt.Errorf("gan: step %d: %w", t.step+1, err)
		}
	}
	t.step++
	v, err := readFloats(t.stats, 2*slots)
	if err != nil {
		return Stats{}, fmt.Errorf("gan: step %d: reading the losses: %w", t.step, err)
	}
	return Stats{DReal: v[2*slotReal], DX: v[2*slotReal+1], DFake: v[2*slotFake], DGZ: v[2*slotFake+1],
		G: v[2*slotG], DGZAfter: v[2*slotG+1]}, nil
}

// setStep moves the trainer to a step it resumes from: the clocks that
// drive z, dropout and Adam's bias correction follow it.
func (t *Trainer) setStep(step int) error {
	if err := t.clockD.Set(t.Config.Seed, uint32(step)); err != nil {
		return err
	}
	if err := t.clockG.Set(t.Config.Seed, uint32(step*t.Config.GSteps)); err != nil {
		return err
	}
	t.step = step
	return nil
}
