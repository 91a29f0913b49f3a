package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// CompleteConfig is how a Completer searches z.
type CompleteConfig struct {
	N      int     // images completed together, one z each
	Lambda float32 // the perceptual loss's weight against the contextual one
	LR     float32 // Adam's learning rate on z
	Beta1  float32 // Adam's β1
	Clamp  float32 // each coordinate of z stays in [−Clamp, Clamp]
	Seed   uint64  // the starting z's: gan-vk sample's for this seed and N
}

// DefaultComplete is bamos/dcgan-completion.tensorflow's search (λ 0.1,
// Adam at 0.01 with β1 0.9), with z clamped at ±3, where a N(0, 1) draw
// lies 99.7 % of the time (bamos's uniform z is clamped at ±1, its range).
var DefaultComplete = CompleteConfig{N: 8, Lambda: 0.1, LR: 0.01, Beta1: 0.9, Clamp: 3, Seed: 1}

// Completer fills in the missing pixels of images with a trained
// generator (Yeh et al. 2017, "Semantic image inpainting with deep
// generative models"): it searches for the z whose image G(z) is closest
// to the known pixels (the contextual loss, an L1 distance weighted per
// pixel) and that the discriminator takes for real (the perceptual loss,
// λ·log(1 − D(G(z)))), by Adam on z with gradients through D and G, all on
// the device. Both networks run in eval mode (batch norm's running
// statistics), so each image's search is its own.
type Completer struct {
	N, C, S, Z int
	Config     CompleteConfig

	g, dis              *net
	z, dz, m, v         *vk.Buffer
	target, weight      *vk.Buffer // the image to complete and each pixel's weight (0 in the hole)
	dlogit, dd, dx      *vk.Buffer
	loss                *vk.Buffer // per image: contextual, perceptual
	iter, measure, draw *vk.Sequence
	owned               []interface{ Close() }
}

// NewCompleter loads a run's generator (w picks it, as for sampling) and
// discriminator from src (a checkpoint) and builds the search.
func NewCompleter(d *vk.Device, cfg TrainConfig, w Weights, src TensorSource, o CompleteConfig) (*Completer, error) {
	m := cfg.Model
	c := &Completer{N: o.N, C: m.Channels, S: m.Size(), Z: m.Z, Config: o}
	fail := func(err error) (*Completer, error) {
		c.Close()
		return nil, fmt.Errorf("gan: completion: %w", err)
	}
	if o.N < 1 || o.Lambda < 0 || o.LR <= 0 || o.Clamp <= 0 {
		return fail(fmt.Errorf("%d images, λ %g, lr %g, clamp %g: need at least one image, λ ≥ 0 and a positive lr and clamp", o.N, o.Lambda, o.LR, o.Clamp))
	}
	gen, err := LoadGenerator(d, cfg, 0, w, src)
	if err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, gen)
	disc, err := newNetParams(d, m.discriminator(), false)
	if err != nil {
		return fail(err)
	}
	c.owned = append(c.owned, disc)
	if err := loadState(src, disc.state(false)); err != nil {
		return fail(err)
	}
	// Built as a trainer's are (train: the gradient buffers, the weights
	// rearranged once), though only the inputs' gradients are taken.
	for _, n := range []struct {
		p   *netParams
		out **net
	}{{gen.p, &c.g}, {disc, &c.dis}} {
		if *n.out, err = newNet(d, n.p, o.N, netOptions{train: true}); err != nil {
			return fail(err)
		}
		c.owned = append(c.owned, *n.out)
	}
	if err := c.buffers(d); err != nil {
		return fail(err)
	}
	if err := c.record(d); err != nil {
		return fail(err)
	}
	if err := c.draw.Submit(); err != nil { // the weights rearranged, the first z drawn
		return fail(err)
	}
	return c, nil
}

func (c *Completer) buffers(d *vk.Device) error {
	img := c.N * c.C * c.S * c.S
	for _, b := range []struct {
		p      **vk.Buffer
		name   string
		floats int
	}{{&c.z, "z", c.N * c.Z}, {&c.dz, "dz", c.N * c.Z}, {&c.m, "adam m", c.N * c.Z}, {&c.v, "adam v", c.N * c.Z},
		{&c.target, "target", img}, {&c.weight, "weight", img}, {&c.dd, "dd", img}, {&c.dx, "dx", img},
		{&c.dlogit, "dlogit", c.N}, {&c.loss, "loss", 2 * c.N}} {
		buf, err := d.NewBuffer("completion "+b.name, 4*b.floats)
		if err != nil {
			return err
		}
		*b.p = buf
		c.owned = append(c.owned, buf)
	}
	return nil
}

// record builds the three sequences: draw (the weights rearranged, the
// starting z, Adam's moments zeroed), iter (one Adam step on z) and
// measure (the loss at the current z, and G(z)).
func (c *Completer) record(d *vk.Device) error {
	o := c.Config
	normal, err := layers.NewNormal(d, c.N*c.Z, sampleStream)
	if err != nil {
		return err
	}
	c.owned = append(c.owned, normal)
	zClock, err := layers.NewClock(d, "completion z", o.Seed)
	if err != nil {
		return err
	}
	c.owned = append(c.owned, zClock)
	if err := zClock.Set(o.Seed, 0); err != nil { // as Sampler.Redraw(seed, 0)
		return err
	}
	clock, err := layers.NewClock(d, "completion adam", 0)
	if err != nil {
		return err
	}
	c.owned = append(c.owned, clock)
	adam, err := layers.NewAdam(d, c.N*c.Z, layers.AdamConfig{LR: o.LR, Beta1: o.Beta1, Clamp: o.Clamp})
	if err != nil {
		return err
	}
	c.owned = append(c.owned, adam)
	loss, err := layers.NewCompletionLoss(d, c.N, c.C*c.S*c.S, o.Lambda)
	if err != nil {
		return err
	}
	c.owned = append(c.owned, loss)
	for _, s := range []**vk.Sequence{&c.draw, &c.iter, &c.measure} {
		if *s, err = d.NewSequence("completion"); err != nil {
			return err
		}
		c.owned = append(c.owned, *s)
	}
	c.g.prepare(c.draw)
	c.dis.prepare(c.draw)
	normal.Draw(c.draw, c.z, zClock)
	c.draw.Fill(c.m, 0)
	c.draw.Fill(c.v, 0)

	images := c.g.out()
	losses := func(s *vk.Sequence) {
		c.g.forward(s, c.z, evalPass, nil)
		c.dis.forward(s, images, evalPass, nil)
		loss.Perceptual(s, c.dlogit, c.loss, c.dis.out())
	}
	losses(c.measure)
	loss.Contextual(c.measure, c.dx, c.loss, images, c.target, c.weight, c.dd) // only the loss is read
	clock.Tick(c.iter)
	losses(c.iter)
	c.dis.backward(c.iter, images, c.dlogit, c.dd, evalPass, inputGrads, nil)
	loss.Contextual(c.iter, c.dx, c.loss, images, c.target, c.weight, c.dd)
	c.g.backward(c.iter, c.z, c.dx, c.dz, evalPass, inputGrads, nil)
	adam.Update(c.iter, c.z, c.dz, c.m, c.v, clock)
	return nil
}

// Close destroys the completer's networks, ops and buffers.
func (c *Completer) Close() {
	for i := len(c.owned) - 1; i >= 0; i-- {
		c.owned[i].Close()
	}
	c.owned = nil
}

// SetTarget sets the images to complete and each pixel's weight in the
// contextual loss (0 for a missing pixel), N×C×S×S floats each; the
// images' values are in [-1, 1], and a missing pixel's value is not read.
func (c *Completer) SetTarget(images, weights []float32) error {
	n := c.N * c.C * c.S * c.S
	if len(images) != n || len(weights) != n {
		return fmt.Errorf("gan: completion: %d image and %d weight floats, want %d×%d×%d×%d", len(images), len(weights), c.N, c.C, c.S, c.S)
	}
	if err := c.target.Upload(0, vk.Float32Bytes(images)); err != nil {
		return err
	}
	return c.weight.Upload(0, vk.Float32Bytes(weights))
}

// Step runs k steps of Adam on z.
func (c *Completer) Step(k int) error {
	for i := 0; i < k; i++ {
		if err := c.iter.Submit(); err != nil {
			return fmt.Errorf("gan: completion: %w", err)
		}
	}
	return nil
}

// Result is G at the current z and each image's loss there.
type Result struct {
	Images                 []float32 // N×C×S×S in [-1, 1]
	Contextual, Perceptual []float32 // per image
}

// Loss is the loss of image i.
func (r Result) Loss(i int) float32 { return r.Contextual[i] + r.Perceptual[i] }

// Result computes G(z) and its losses at the current z.
func (c *Completer) Result() (Result, error) {
	if err := c.measure.Submit(); err != nil {
		return Result{}, fmt.Errorf("gan: completion: %w", err)
	}
	imgs, err := readFloats(c.g.out(), c.N*c.C*c.S*c.S)
	if err != nil {
		return Result{}, err
	}
	l, err := readFloats(c.loss, 2*c.N)
	if err != nil {
		return Result{}, err
	}
	r := Result{Images: imgs, Contextual: make([]float32, c.N), Perceptual: make([]float32, c.N)}
	for i := 0; i < c.N; i++ {
		r.Contextual[i], r.Perceptual[i] = l[2*i], l[2*i+1]
	}
	return r, nil
}

// ZValues reads the current z: N rows of Z floats.
func (c *Completer) ZValues() ([]float32, error) { return readFloats(c.z, c.N*c.Z) }
