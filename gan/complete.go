package gan

import (
	"fmt"

	"github.com/gan-vk/gan-vk/gan/nn"
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

	g, dis         *nn.Net
	z              *nn.Latent
	dz, m, v       *vk.Buffer
	target, weight *vk.Buffer // the image to complete and each pixel's weight (0 in the hole)
	dlogit, dd, dx *vk.Buffer
	loss           *vk.Buffer // per image: contextual, perceptual
	adam           *layers.Adam
	clock          *layers.Clock // Adam's
	losses         *layers.CompletionLoss
	iter, measure  *vk.Sequence
	draw           *vk.Sequence
	own            *nn.Owner
}

// NewCompleter loads a run's generator (w picks it, as for sampling) and
// discriminator from src (a checkpoint) and builds the search.
func NewCompleter(d *vk.Device, cfg TrainConfig, w Weights, src TensorSource, o CompleteConfig) (*Completer, error) {
	m := cfg.Model
	c := &Completer{N: o.N, C: m.Channels, S: m.Size(), Z: m.Z, Config: o, own: nn.NewOwner(d)}
	fail := func(err error) (*Completer, error) {
		c.Close()
		return nil, fmt.Errorf("gan: completion: %w", err)
	}
	if m.Conditional() {
		return fail(fmt.Errorf("the model is class-conditional (trained with --conditional), and completion does not search over classes; complete with an unconditional run"))
	}
	if o.N < 1 || o.Lambda < 0 || o.LR <= 0 || o.Clamp <= 0 {
		return fail(fmt.Errorf("%d images, λ %g, lr %g, clamp %g: need at least one image, λ ≥ 0 and a positive lr and clamp", o.N, o.Lambda, o.LR, o.Clamp))
	}
	gen, err := LoadGenerator(d, cfg, 0, w, src)
	if err != nil {
		return fail(err)
	}
	own := c.own
	own.Own(gen)
	disc := nn.NewStore(own, m.discriminator(), false)
	if err := own.Err(); err != nil {
		return fail(err)
	}
	if err := disc.Load(src, false); err != nil {
		return fail(err)
	}
	// Built as a trainer's are (Train: the gradient buffers, the weights
	// rearranged once), though only the inputs' gradients are taken.
	c.g = nn.NewNet(own, gen.p, o.N, nn.Options{Train: true})
	c.dis = nn.NewNet(own, disc, o.N, nn.Options{Train: true})
	c.z = nn.NewLatent(own, "completion z", o.N, m.Z, sampleStream, o.Seed) // as Sampler.Redraw(seed, 0)
	img := c.N * c.C * c.S * c.S
	for _, b := range []struct {
		p      **vk.Buffer
		name   string
		floats int
	}{{&c.dz, "dz", c.N * c.Z}, {&c.m, "adam m", c.N * c.Z}, {&c.v, "adam v", c.N * c.Z},
		{&c.target, "target", img}, {&c.weight, "weight", img}, {&c.dd, "dd", img}, {&c.dx, "dx", img},
		{&c.dlogit, "dlogit", c.N}, {&c.loss, "loss", 2 * c.N}} {
		*b.p = own.Buffer("completion "+b.name, b.floats)
	}
	c.clock = own.Clock("completion adam", 0)
	adam, err := layers.NewAdam(d, c.N*c.Z, layers.AdamConfig{LR: o.LR, Beta1: o.Beta1, Clamp: o.Clamp})
	c.adam = nn.Keep(own, adam, err)
	losses, err := layers.NewCompletionLoss(d, c.N, c.C*c.S*c.S, o.Lambda)
	c.losses = nn.Keep(own, losses, err)
	c.draw, c.iter, c.measure = own.Sequence("completion"), own.Sequence("completion"), own.Sequence("completion")
	if err := own.Err(); err != nil {
		return fail(err)
	}
	c.record()
	if err := c.draw.Submit(); err != nil { // the weights rearranged, the first z drawn
		return fail(err)
	}
	return c, nil
}

// record records the three sequences: draw (the weights rearranged, the
// starting z, Adam's moments zeroed), iter (one Adam step on z) and
// measure (the loss at the current z, and G(z)).
func (c *Completer) record() {
	c.g.Prepare(c.draw, nn.Loaded)
	c.dis.Prepare(c.draw, nn.Loaded)
	c.z.Draw(c.draw)
	c.draw.Fill(c.m, 0)
	c.draw.Fill(c.v, 0)

	z, images := c.z.Z, c.g.Out()
	losses := func(s *vk.Sequence) {
		c.g.Forward(s, z, nn.Eval)
		c.dis.Forward(s, images, nn.Eval)
		c.losses.Perceptual(s, c.dlogit, c.loss, c.dis.Out())
	}
	losses(c.measure)
	c.losses.Contextual(c.measure, c.dx, c.loss, images, c.target, c.weight, c.dd) // only the loss is read
	c.clock.Tick(c.iter)
	losses(c.iter)
	c.dis.Backward(c.iter, images, c.dlogit, c.dd, nn.Eval, nn.InputGrads)
	c.losses.Contextual(c.iter, c.dx, c.loss, images, c.target, c.weight, c.dd)
	c.g.Backward(c.iter, z, c.dx, c.dz, nn.Eval, nn.InputGrads)
	c.adam.Update(c.iter, z, c.dz, c.m, c.v, c.clock)
}

// Close destroys the completer's networks, ops and buffers.
func (c *Completer) Close() { c.own.Close() }

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
	imgs, err := nn.ReadFloats(c.g.Out(), c.N*c.C*c.S*c.S)
	if err != nil {
		return Result{}, err
	}
	l, err := nn.ReadFloats(c.loss, 2*c.N)
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
func (c *Completer) ZValues() ([]float32, error) { return c.z.Values() }
