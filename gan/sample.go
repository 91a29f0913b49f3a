package gan

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// sampleStream is the Philox stream of sample z's, apart from training's.
const sampleStream = 1 << 16

// Sampler runs a generator's forward pass on its own z: in eval mode (batch
// norm with its running statistics), which leaves the training state alone,
// or with batch norm on the batch's own statistics (BatchStats), which moves
// the running statistics as training does.
type Sampler struct {
	N, Z    int
	C, S    int
	net     *net
	z       *vk.Buffer
	normal  *layers.Normal
	clock   *layers.Clock
	draw    *vk.Sequence
	forward *vk.Sequence
	before  func() error // run before each forward: a trainer's EMA generator is calibrated
	owned   []interface{ Close() }
}

func newSampler(d *vk.Device, g *netParams, m ModelConfig, n int, seed uint64, batchStats bool) (*Sampler, error) {
	s := &Sampler{N: n, Z: m.Z, C: m.Channels, S: m.Size()}
	fail := func(err error) (*Sampler, error) {
		s.Close()
		return nil, fmt.Errorf("gan: sampler: %w", err)
	}
	var err error
	if s.net, err = newNet(d, g, n, netOptions{}); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.net)
	if s.z, err = d.NewBuffer("sample z", 4*n*m.Z); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.z)
	if s.normal, err = layers.NewNormal(d, n*m.Z, sampleStream); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.normal)
	if s.clock, err = layers.NewClock(d, "sample", seed); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.clock)
	if s.draw, err = d.NewSequence("sample z"); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.draw)
	s.normal.Draw(s.draw, s.z, s.clock)
	if s.forward, err = d.NewSequence("sample"); err != nil {
		return fail(err)
	}
	s.owned = append(s.owned, s.forward)
	p := evalPass
	if batchStats {
		p = passZ // batch norm as training runs it
	}
	s.net.forward(s.forward, s.z, p, nil) // the generator has no dropout: no clock
	if err := s.Redraw(seed, 0); err != nil {
		return fail(err)
	}
	return s, nil
}

// Close destroys the sampler's ops and buffers.
func (s *Sampler) Close() {
	for i := len(s.owned) - 1; i >= 0; i-- {
		s.owned[i].Close()
	}
	s.owned = nil
}

// Redraw draws the sampler's z from (seed, draw): the same pair gives the
// same z on any run.
func (s *Sampler) Redraw(seed uint64, draw uint32) error {
	if err := s.clock.Set(seed, draw); err != nil {
		return err
	}
	return s.draw.Submit()
}

// Images runs the generator on the sampler's z and returns N images of
// C×S×S floats in [-1, 1], NCHW.
func (s *Sampler) Images() ([]float32, error) {
	if err := s.Run(); err != nil {
		return nil, err
	}
	return readFloats(s.net.out(), s.N*s.C*s.S*s.S)
}

// Run runs the generator on the sampler's z, leaving the images on the
// device (Output).
func (s *Sampler) Run() error {
	if s.before != nil {
		if err := s.before(); err != nil {
			return err
		}
	}
	return s.forward.Submit()
}

// Output is the buffer Run and Images write: N images of C×S×S floats.
func (s *Sampler) Output() *vk.Buffer { return s.net.out() }

// ZValues reads the sampler's z: N rows of Z floats.
func (s *Sampler) ZValues() ([]float32, error) { return readFloats(s.z, s.N*s.Z) }

// SetZ sets the sampler's z to N rows of Z floats.
func (s *Sampler) SetZ(z []float32) error {
	if len(z) != s.N*s.Z {
		return fmt.Errorf("gan: sampler: z has %d floats, want %d×%d", len(z), s.N, s.Z)
	}
	return s.z.Upload(0, vk.Float32Bytes(z))
}

// NewSampler builds a sampler of n images over one of the trainer's
// generators: the raw one, or the EMA generator, whose batch norms are
// calibrated for its weights before each forward that follows a step.
func (t *Trainer) NewSampler(n int, w Weights) (*Sampler, error) {
	if w.For(t.Config) == RawWeights {
		return newSampler(t.dev, t.g, t.Config.Model, n, t.Config.Seed, false)
	}
	if t.ema == nil {
		return nil, errNoEMA
	}
	s, err := newSampler(t.dev, t.ema, t.Config.Model, n, t.Config.Seed, false)
	if err != nil {
		return nil, err
	}
	s.before = t.calibrateEMA
	return s, nil
}

// errNoEMA is a request for the EMA generator of a run that keeps none.
var errNoEMA = errors.New("this run keeps no EMA generator (it was trained with --ema 0); use --weights raw")

// Generator is a trained generator on the device, for sampling.
type Generator struct {
	Config  TrainConfig
	Step    int
	Weights Weights
	p       *netParams
}

// LoadGenerator puts one generator of a run configured cfg, at step, on
// the device: its parameters and running statistics from src.
func LoadGenerator(d *vk.Device, cfg TrainConfig, step int, w Weights, src TensorSource) (*Generator, error) {
	w = w.For(cfg)
	spec := cfg.Model.generator()
	if w == EMAWeights {
		if cfg.EMA == 0 {
			return nil, errNoEMA
		}
		spec = cfg.Model.generatorEMA()
	}
	p, err := newNetParams(d, spec, false)
	if err != nil {
		return nil, err
	}
	if err := loadState(src, p.state(false)); err != nil {
		p.Close()
		return nil, err
	}
	return &Generator{Config: cfg, Step: step, Weights: w, p: p}, nil
}

// Close frees the generator's buffers.
func (g *Generator) Close() { g.p.Close() }

// NewSampler builds a sampler of n images over the generator; batchStats
// normalises with each batch's statistics instead of the running ones.
func (g *Generator) NewSampler(d *vk.Device, n int, seed uint64, batchStats bool) (*Sampler, error) {
	return newSampler(d, g.p, g.Config.Model, n, seed, batchStats)
}

// toByte maps a value of tanh's range [-1, 1] to a pixel byte.
func toByte(v float32) uint8 {
	x := math.Round(float64(v+1) * 127.5)
	return uint8(max(0, min(255, x)))
}

// Image turns image i of a batch (NCHW floats in [-1, 1]) into an image.
func Image(batch []float32, i, c, s int) image.Image {
	at := func(ch, y, x int) uint8 { return toByte(batch[((i*c+ch)*s+y)*s+x]) }
	if c == 1 {
		m := image.NewGray(image.Rect(0, 0, s, s))
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				m.Pix[y*m.Stride+x] = at(0, y, x)
			}
		}
		return m
	}
	m := image.NewRGBA(image.Rect(0, 0, s, s))
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			m.SetRGBA(x, y, color.RGBA{at(0, y, x), at(1, y, x), at(2, y, x), 255})
		}
	}
	return m
}

// gridPad is the gap between images in a grid, in pixels.
const gridPad = 2

// Grid lays n images of a batch out in rows of cols, with a gap between
// them.
func Grid(batch []float32, n, c, s, cols int) image.Image {
	rows := (n + cols - 1) / cols
	w, h := cols*(s+gridPad)+gridPad, rows*(s+gridPad)+gridPad
	var out interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	if c == 1 {
		out = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		out = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	for i := 0; i < n; i++ {
		img := Image(batch, i, c, s)
		x0, y0 := gridPad+(i%cols)*(s+gridPad), gridPad+(i/cols)*(s+gridPad)
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				out.Set(x0+x, y0+y, img.At(x, y))
			}
		}
	}
	return out
}

// WritePNG writes an image to path atomically, so a reader (the viewer
// following a run) never sees half a PNG.
func WritePNG(path string, m image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, m) })
}

// ReadGrid reads a grid PNG that Grid wrote back into images: c×s×s floats
// in [-1, 1] for every cell of the grid, and how many cells it has.
func ReadGrid(path string, c, s int) ([]float32, int, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer file.Close()
	m, err := png.Decode(file)
	if err != nil {
		return nil, 0, err
	}
	return gridImages(m, c, s)
}

func gridImages(m image.Image, c, s int) ([]float32, int, error) {
	b := m.Bounds()
	cell := s + gridPad
	cols, rows := (b.Dx()-gridPad)/cell, (b.Dy()-gridPad)/cell
	if cols < 1 || rows < 1 || cols*cell+gridPad != b.Dx() || rows*cell+gridPad != b.Dy() {
		return nil, 0, fmt.Errorf("a %d×%d image is not a grid of %d×%d images", b.Dx(), b.Dy(), s, s)
	}
	n := cols * rows
	out := make([]float32, n*c*s*s)
	for i := 0; i < n; i++ {
		x0, y0 := b.Min.X+gridPad+(i%cols)*cell, b.Min.Y+gridPad+(i/cols)*cell
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				r, g, bl, _ := m.At(x0+x, y0+y).RGBA()
				v := [3]uint32{r, g, bl}
				for ch := 0; ch < c; ch++ {
					out[((i*c+ch)*s+y)*s+x] = float32(v[ch]>>8)/127.5 - 1
				}
			}
		}
	}
	return out, n, nil
}
