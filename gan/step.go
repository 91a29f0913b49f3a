package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
)

// The training step, written once.
//
// A step is DSteps discriminator updates (1 by default), each on its own
// real batch, and GSteps generator updates. Each
// update is a recipe (updateD, updateG) written against steps, the
// vocabulary of an update. The trainer records the recipes into command
// buffers (recorder, in trainer.go); a counter walks the same recipes to
// say how many training-mode forwards each network's batch norms run
// (checkpoints store it as num_batches_tracked) and how many times each
// GEMM pass runs (the FLOPs bench prints, the passes the tuner times). The
// profiler's scopes come from the recording: each network names its own
// layers. A change to the step is a change to a recipe, and everything
// else follows.

// netID names one of the two networks.
type netID int

const (
	gen  netID = iota // the generator
	disc              // the discriminator
	nets
)

// pass is one run of a network in an update: which network, on what input,
// and (for the discriminator) which dropout mask.
type pass int

const (
	passReal pass = iota // D on the real batch, in D's update
	passFake             // D on G's output, in D's update
	passG                // D on G's output, in a G update
	passZ                // G on the step's z
)

// masks is how many dropout masks a discriminator layer draws per step:
// one for each of its passes.
const masks = int(passG) + 1

// net is the network a pass runs.
func (p pass) net() netID {
	if p == passZ {
		return gen
	}
	return disc
}

// mode is how the pass runs its network: every pass of a step in training
// mode (batch norm on the batch's statistics), a discriminator pass with
// its own dropout mask, drawn from the update's clock.
func (p pass) mode(clock *layers.Clock) nn.Mode {
	return nn.Mode{Train: true, Mask: int(p), Clock: clock}
}

// steps is what an update's recipe is written in. Each update runs on one
// network's clock (tick), which draws z and the dropout masks and counts
// Adam's steps.
type steps interface {
	tick(n netID)                // advance n's clock: this update's z, masks and Adam step
	useReal(k int)               // the step's k-th real batch is this update's
	zeroGrads(n netID)           // set n's parameter gradients to 0
	drawZ()                      // fresh z from the clock
	mirror()                     // flip the real batch's images, each with probability ½ (when the run mirrors)
	augment(p pass)              // augment p's batch into the discriminator's input (when the run augments)
	unaugment(p pass)            // carry the gradient at the discriminator's input back through p's augmentation
	forward(p pass)              // run p's network on its input
	forwardAgain(p pass)         // move batch norm's running statistics as a second, identical forward would
	loss(p pass)                 // the loss term of D's output on p, and its gradient
	backward(p pass, g nn.Grads) // back through p's network from the gradient at its output
	adam(n netID)                // update n's parameters from their gradients
	ema()                        // move the EMA generator towards the generator's new weights (when there is one)
}

// updateD is the discriminator's k-th update of a step: a fake batch from
// fresh z, the loss and gradients on the step's k-th real batch and then
// on the fake one, each augmented first (each backward right after its
// forward, so batch norm's saved statistics are the pass's own), and Adam.
func updateD(u steps, k int) {
	u.useReal(k)
	u.tick(disc)
	u.zeroGrads(disc)
	u.drawZ()
	u.forward(passZ)
	u.mirror()
	for _, p := range []pass{passReal, passFake} {
		u.augment(p)
		u.forward(p)
		u.loss(p)
		u.backward(p, nn.WeightGrads)
	}
	u.adam(disc)
}

// updateG is one generator update on the step's z: the generator again
// (its weights move between its updates), the discriminator's verdict on
// its images, augmented, against target 1 (the non-saturating loss), the
// gradient back through the discriminator and the augmentation to the
// images and on through the generator, Adam, and the
// EMA generator's move towards the new weights. The first update of a step does not run the generator again: its weights and
// z are the discriminator update's, so its output and every activation
// backward needs are still in place; only batch norm's running statistics
// move again, as the second forward would move them (carpedm20's step runs
// the generator three times).
func updateG(u steps, first bool) {
	u.tick(gen)
	u.zeroGrads(gen)
	if first {
		u.forwardAgain(passZ)
	} else {
		u.forward(passZ)
	}
	u.augment(passG)
	u.forward(passG)
	u.loss(passG)
	u.backward(passG, nn.InputGrads)
	u.unaugment(passG)
	u.backward(passZ, nn.WeightGrads)
	u.adam(gen)
	u.ema()
}

// update is one recipe of the step and how many times a step runs it.
type update struct {
	name   string
	times  int
	recipe func(steps)
}

// updates are the step's recipes in order: each discriminator update is a
// recording of its own (its real batch is its own), each generator update
// after the first a replay of one.
func (c TrainConfig) updates() []update {
	var out []update
	for k := range c.DUpdates() {
		name := "discriminator update"
		if c.DUpdates() > 1 {
			name = fmt.Sprintf("discriminator update %d", k+1)
		}
		out = append(out, update{name, 1, func(u steps) { updateD(u, k) }})
	}
	return append(out,
		update{"first generator update", 1, func(u steps) { updateG(u, true) }},
		update{"generator update", c.GSteps - 1, func(u steps) { updateG(u, false) }})
}

// stepCounts is what a step runs, counted from its recipes: each network's
// training-mode forwards (which move its batch norms' running statistics),
// and per layer its forward, backward-data and backward-filter passes.
type stepCounts struct {
	bnForwards [nets]int
	layers     [nets][][3]int // forward, data, filter
}

// counts walks the step's recipes.
func (c TrainConfig) counts() stepCounts {
	k := &counter{}
	for i, spec := range []nn.Spec{c.Model.generator(), c.Model.discriminator()} {
		k.layers[i] = make([][3]int, len(spec.Layers))
	}
	for _, u := range c.updates() {
		k.times = u.times
		u.recipe(k)
	}
	return k.stepCounts
}

// counter is steps that counts.
type counter struct {
	stepCounts
	times int // of the update being walked
}

func (k *counter) tick(netID)      {}
func (k *counter) useReal(int)     {}
func (k *counter) zeroGrads(netID) {}
func (k *counter) drawZ()          {}
func (k *counter) mirror()         {}
func (k *counter) augment(pass)    {}
func (k *counter) unaugment(pass)  {}
func (k *counter) loss(pass)       {}
func (k *counter) adam(netID)      {}
func (k *counter) ema()            {}

func (k *counter) forward(p pass) {
	k.bnForwards[p.net()] += k.times
	for i := range k.layers[p.net()] {
		k.layers[p.net()][i][0] += k.times
	}
}

func (k *counter) forwardAgain(p pass) { k.bnForwards[p.net()] += k.times }

func (k *counter) backward(p pass, g nn.Grads) {
	for i := range k.layers[p.net()] {
		if i > 0 || g&nn.InputGrads != 0 {
			k.layers[p.net()][i][1] += k.times
		}
		if g&nn.WeightGrads != 0 {
			k.layers[p.net()][i][2] += k.times
		}
	}
}
