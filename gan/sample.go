package gan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/vk"
)

// sampleStream is the Philox stream of sample z's, apart from training's.
const sampleStream = 1 << 16

// Sampler runs a generator's forward pass on its own z: in eval mode (batch
// norm with its running statistics), which leaves the training state alone,
// or with batch norm on the batch's own statistics (BatchStats), which moves
// the running statistics as training does.
type Sampler struct {
	N, Z     int
	C, S     int
	Model    ModelConfig
	net      *nn.Net
	z        *nn.Latent
	labels   *vk.Buffer // a conditional model's: each image's class
	gridCols int        // ClassGrid's columns, which share their z; 0: every image its own z
	draw     *vk.Sequence
	forward  *vk.Sequence
	before   func() error // run before each forward: a trainer's EMA generator is calibrated
	own      *nn.Owner
}

// samplerOptions are how a sampler draws and normalises.
type samplerOptions struct {
	stream     int     // z's Philox stream (sampleStream unless set)
	batchStats bool    // batch norm on each batch's statistics, moving the running ones
	momentum   float32 // how far (0: PyTorch's 0.1)
}

func newSampler(d *vk.Device, g *nn.Store, m ModelConfig, n int, seed uint64, opt samplerOptions) (*Sampler, error) {
	s := &Sampler{N: n, Z: m.Z, C: m.Channels, S: m.Size(), Model: m, own: nn.NewOwner(d)}
	o := s.own
	if opt.stream == 0 {
		opt.stream = sampleStream
	}
	s.net = nn.NewNet(o, g, n, nn.Options{BNMomentum: opt.momentum})
	s.z = nn.NewLatent(o, "sample z", n, m.Z, opt.stream, seed)
	if m.Conditional() {
		s.labels = o.Buffer("sample classes", n)
	}
	s.draw = o.Sequence("sample z")
	s.forward = o.Sequence("sample")
	if err := o.Err(); err != nil {
		s.Close()
		return nil, fmt.Errorf("gan: sampler: %w", err)
	}
	s.z.Draw(s.draw)
	mode := nn.Eval
	if opt.batchStats {
		mode = nn.Mode{Train: true} // the generator has no dropout: no clock
	}
	mode.Labels = s.labels
	s.net.Forward(s.forward, s.z.Z, mode)
	if s.labels != nil {
		if err := s.SetLabels(CycleClasses(n, m.Classes)); err != nil {
			s.Close()
			return nil, fmt.Errorf("gan: sampler: %w", err)
		}
	}
	if err := s.Redraw(seed, 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("gan: sampler: %w", err)
	}
	return s, nil
}

// Close destroys the sampler's ops and buffers.
func (s *Sampler) Close() { s.own.Close() }

// Redraw draws the sampler's z from (seed, draw): the same pair gives the
// same z on any run. After ClassGrid, every row takes the first row's.
func (s *Sampler) Redraw(seed uint64, draw uint32) error {
	if err := s.z.Set(seed, draw); err != nil {
		return err
	}
	if err := s.draw.Submit(); err != nil || s.gridCols == 0 {
		return err
	}
	z, err := s.ZValues()
	if err != nil {
		return err
	}
	row := s.gridCols * s.Z
	for lo := row; lo < len(z); lo += row {
		copy(z[lo:min(lo+row, len(z))], z[:row])
	}
	return s.SetZ(z)
}

// CycleClasses are n samples' classes taking each of classes in turn:
// as many of each as fit evenly.
func CycleClasses(n, classes int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i % classes)
	}
	return out
}

// SetLabels sets the class of each of a conditional model's N images.
func (s *Sampler) SetLabels(classes []uint32) error {
	if s.labels == nil {
		return fmt.Errorf("gan: sampler: the model is not class-conditional")
	}
	if len(classes) != s.N {
		return fmt.Errorf("gan: sampler: %d classes for %d images", len(classes), s.N)
	}
	for _, k := range classes {
		if int(k) >= s.Model.Classes {
			return fmt.Errorf("gan: sampler: class %d of a model of %d", k, s.Model.Classes)
		}
	}
	return s.labels.Upload(0, vk.Uint32Bytes(classes))
}

// SetClass draws every one of a conditional model's N images for class k.
func (s *Sampler) SetClass(k uint32) error { return s.SetLabels(slices.Repeat([]uint32{k}, s.N)) }

// Grid layout: a conditional model's sample grid has a row per class, the
// first MaxGridRows of them, GridCols images a row.
const (
	GridCols    = 8
	MaxGridRows = 16
)

// GridImages is how many images a run's sample grid holds: 8×8, or a row
// per class for a conditional model.
func GridImages(m ModelConfig) int {
	if !m.Conditional() {
		return 64
	}
	return GridCols * min(m.Classes, MaxGridRows)
}

// ClassGrid lays a conditional model's images out as a grid of cols
// columns: row r shows classes[r mod len(classes)], and each column one z
// (the first row's, from each Redraw on), so a row is a class and a
// column a style. It redraws z from (seed, draw).
func (s *Sampler) ClassGrid(cols int, classes []uint32, seed uint64, draw uint32) error {
	if len(classes) == 0 || cols <= 0 {
		return fmt.Errorf("gan: sampler: a class grid needs columns and classes")
	}
	labels := make([]uint32, s.N)
	for i := range labels {
		labels[i] = classes[(i/cols)%len(classes)]
	}
	if err := s.SetLabels(labels); err != nil {
		return err
	}
	s.gridCols = min(cols, s.N)
	return s.Redraw(seed, draw)
}

// RowNames says which class each row of a run's sample grid shows:
// "row 1 T-shirt/top, row 2 Trouser, …".
func RowNames(m ModelConfig) string {
	var parts []string
	for r, k := range GridRows(m) {
		parts = append(parts, fmt.Sprintf("row %d %s", r+1, m.ClassName(int(k))))
	}
	return strings.Join(parts, ", ")
}

// RowPerClass lays a conditional model's images out as a run's sample
// grids: ClassGrid of GridCols columns over GridRows, z from (seed, 0).
func (s *Sampler) RowPerClass(seed uint64) error {
	return s.ClassGrid(GridCols, GridRows(s.Model), seed, 0)
}

// GridRows are the classes of a run's sample grid's rows: the first
// MaxGridRows.
func GridRows(m ModelConfig) []uint32 { return CycleClasses(min(m.Classes, MaxGridRows), m.Classes) }

// Images runs the generator on the sampler's z and returns N images of
// C×S×S floats in [-1, 1], NCHW.
func (s *Sampler) Images() ([]float32, error) {
	if err := s.Run(); err != nil {
		return nil, err
	}
	return nn.ReadFloats(s.net.Out(), s.N*s.C*s.S*s.S)
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
func (s *Sampler) Output() *vk.Buffer { return s.net.Out() }

// ZValues reads the sampler's z: N rows of Z floats.
func (s *Sampler) ZValues() ([]float32, error) { return s.z.Values() }

// SetZ sets the sampler's z to N rows of Z floats.
func (s *Sampler) SetZ(z []float32) error {
	if len(z) != s.N*s.Z {
		return fmt.Errorf("gan: sampler: z has %d floats, want %d×%d", len(z), s.N, s.Z)
	}
	return s.z.Z.Upload(0, vk.Float32Bytes(z))
}

// NewSampler builds a sampler of n images over one of the trainer's
// generators: the raw one, or the EMA generator, whose batch norms are
// calibrated for its weights before each forward that follows a step.
func (t *Trainer) NewSampler(n int, w Weights) (*Sampler, error) {
	w, _, err := w.Resolve(t.Config)
	if err != nil {
		return nil, err
	}
	if w == RawWeights {
		return newSampler(t.dev, t.g, t.Config.Model, n, t.Config.Seed, samplerOptions{})
	}
	s, err := newSampler(t.dev, t.ema, t.Config.Model, n, t.Config.Seed, samplerOptions{})
	if err != nil {
		return nil, err
	}
	s.before = t.calibrateEMA
	return s, nil
}

// Generator is a trained generator on the device, for sampling.
type Generator struct {
	Config  TrainConfig
	Step    int
	Weights Weights
	p       *nn.Store
	own     *nn.Owner
	tables  map[*nn.Param][]float32 // a conditional one's class embeddings as loaded (BlendClasses)
}

// LoadGenerator puts one generator of a run configured cfg, at step, on
// the device: its parameters and running statistics from src.
func LoadGenerator(d *vk.Device, cfg TrainConfig, step int, w Weights, src TensorSource) (*Generator, error) {
	w, spec, err := w.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	g := &Generator{Config: cfg, Step: step, Weights: w, own: nn.NewOwner(d)}
	g.p = nn.NewStore(g.own, spec, false)
	err = g.own.Err()
	if err == nil {
		err = g.p.Load(src, false)
	}
	if err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// Close frees the generator's buffers.
func (g *Generator) Close() { g.own.Close() }

// NewSampler builds a sampler of n images over the generator; batchStats
// normalises with each batch's statistics instead of the running ones.
func (g *Generator) NewSampler(d *vk.Device, n int, seed uint64, batchStats bool) (*Sampler, error) {
	return newSampler(d, g.p, g.Config.Model, n, seed, samplerOptions{batchStats: batchStats})
}

// BlendClasses sets class slot's rows of each conditional batch norm's
// gain and bias embeddings to (1−t)·class a's + t·class b's, as loaded:
// images of class slot are then drawn for a point between two classes
// (BigGAN's walk between class embeddings at a fixed z). t 0 draws class
// a exactly.
func (g *Generator) BlendClasses(slot, a, b int, t float32) error {
	m := g.Config.Model
	for _, k := range []int{slot, a, b} {
		if k < 0 || k >= m.Classes {
			return fmt.Errorf("gan: class %d of a model of %d classes", k, m.Classes)
		}
	}
	if g.tables == nil {
		g.tables = map[*nn.Param][]float32{}
	}
	for i, l := range g.p.Spec.Layers {
		if l.Kind != nn.BatchNorm || l.Classes == 0 {
			continue
		}
		for _, p := range g.p.Layers[i] { // gain, bias: Classes×K
			v, ok := g.tables[p]
			if !ok {
				var err error
				if v, err = nn.ReadFloats(p.Val, p.Count()); err != nil {
					return err
				}
				g.tables[p] = v
			}
			row := make([]float32, l.K)
			for c := range row {
				row[c] = (1-t)*v[a*l.K+c] + t*v[b*l.K+c]
			}
			if err := p.Val.Upload(4*slot*l.K, vk.Float32Bytes(row)); err != nil {
				return err
			}
		}
	}
	return nil
}
