package nn

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// Param is one trained parameter: a view at the same offset into each of
// its network's four store buffers (value, gradient, Adam's m and v).
type Param struct {
	TensorSpec
	Off             int // in floats, the same in all four buffers
	Val, Grad, M, V *vk.Buffer
}

// Store is the state of one network that lives on the device. Its
// parameters are one store of four buffers with one layout, as llm.c keeps
// them: the values, their gradients and Adam's two moments, every tensor a
// named view into each. So zeroing the gradients is one fill and Adam is
// one dispatch for the whole network (Parts). Beside it, the running
// statistics of its batch-norm layers, one buffer with a view per layer.
// The nets that use it (each at some batch size) are built separately, so
// a trainer and a sampler share it. A network that is not trained (a
// loaded generator, the EMA generator) has only the values and the running
// statistics: Grad, M and V are nil.
type Store struct {
	Spec            Spec
	Floats          int        // floats in each store buffer, the padding between tensors included
	Val, Grad, M, V *vk.Buffer // the store
	Stats           *vk.Buffer // every batch norm's running statistics
	Layers          [][]*Param // per layer: weight, bias (γ, β), as LayerSpec.Params
	// Running is, per layer, a view of batch norm's running mean then
	// variance (2K floats); nil for other layers.
	Running []*vk.Buffer
	All     []*Param        // every parameter in state_dict order
	Parts   [][4]*vk.Buffer // the store in pieces an elementwise kernel can bind whole (Adam's, EMA's)
	// SN is, per layer, a spectrally normalised layer's state; nil for
	// other layers.
	SN      []*SNState
	Vectors *vk.Buffer // every spectral norm's u and v
	align   int        // the device's view alignment, in floats
}

// SNState is a spectrally normalised layer's: its u and v (training
// state, in checkpoints as weight_u and weight_v), the weight its passes
// read, W/σ, and the op that makes it (layers.SpectralNorm).
type SNState struct {
	U, V   *vk.Buffer
	Weight *vk.Buffer
	Op     *layers.SpectralNorm
}

// NewStore allocates the state of spec's network in o, with the gradients
// and Adam's moments when it is trained (optimizer); its contents start
// undefined (Init, Fill or a checkpoint fills them). It is nil after a
// failure (o.Err).
func NewStore(o *Owner, spec Spec, optimizer bool) *Store {
	if o.Err() != nil {
		return nil
	}
	p := &Store{Spec: spec, Layers: make([][]*Param, len(spec.Layers)), Running: make([]*vk.Buffer, len(spec.Layers)),
		SN: make([]*SNState, len(spec.Layers))}
	d := o.Device()
	p.align = d.Alignment() / 4
	roundUp, align := p.roundUp, p.align
	statFloats, vecFloats := 0, 0
	for i, l := range spec.Layers {
		for _, ts := range l.Params(spec.Name) {
			t := &Param{TensorSpec: ts, Off: p.Floats}
			p.Floats += roundUp(ts.Count())
			p.Layers[i] = append(p.Layers[i], t)
			p.All = append(p.All, t)
		}
		if l.Kind == BatchNorm {
			statFloats += roundUp(2 * l.K)
		}
		for _, t := range l.SNVectors(spec.Name) {
			vecFloats += roundUp(t.Count())
		}
	}
	for _, b := range []struct {
		dst     **vk.Buffer
		suffix  string
		floats  int
		trained bool // only for a network that is trained
	}{{&p.Val, "", p.Floats, false}, {&p.Grad, " grad", p.Floats, true}, {&p.M, " adam m", p.Floats, true},
		{&p.V, " adam v", p.Floats, true}, {&p.Stats, " running stats", statFloats, false},
		{&p.Vectors, " spectral norm vectors", vecFloats, false}} {
		if b.floats > 0 && (optimizer || !b.trained) {
			*b.dst = o.Buffer(spec.Name+" parameters"+b.suffix, b.floats)
		}
	}
	if o.Err() != nil {
		return nil
	}
	view := func(whole *vk.Buffer, name string, off, floats int) *vk.Buffer {
		if whole == nil {
			return nil
		}
		v, err := whole.View(name, 4*off, 4*floats)
		if err != nil {
			panic(err) // the offsets above are aligned and inside: a bug if not
		}
		return v
	}
	for _, t := range p.All {
		t.Val, t.Grad = view(p.Val, t.Name, t.Off, t.Count()), view(p.Grad, t.Name+" grad", t.Off, t.Count())
		t.M, t.V = view(p.M, t.Name+" adam m", t.Off, t.Count()), view(p.V, t.Name+" adam v", t.Off, t.Count())
	}
	off := 0
	for i, l := range spec.Layers {
		if l.Kind == BatchNorm {
			p.Running[i] = view(p.Stats, fmt.Sprintf("%s.%d running stats", spec.Name, l.Module), off, 2*l.K)
			off += roundUp(2 * l.K)
		}
	}
	if p.buildSN(o, view); o.Err() != nil {
		return nil
	}
	// An elementwise kernel sees a buffer as floats through a texel view,
	// which holds at most MaxTexelBufferElements of them.
	piece := int(d.Info().MaxTexelBufferElements) / align * align
	for lo := 0; lo < p.Floats; lo += piece {
		n := min(piece, p.Floats-lo)
		if lo == 0 && n == p.Floats {
			p.Parts = append(p.Parts, [4]*vk.Buffer{p.Val, p.Grad, p.M, p.V})
			break
		}
		name := fmt.Sprintf("%s parameters [%d, %d)", spec.Name, lo, lo+n)
		p.Parts = append(p.Parts, [4]*vk.Buffer{view(p.Val, name, lo, n), view(p.Grad, name+" grad", lo, n),
			view(p.M, name+" adam m", lo, n), view(p.V, name+" adam v", lo, n)})
	}
	return p
}

// buildSN gives each spectrally normalised layer its views of Vectors,
// its normalised weight and its op.
func (p *Store) buildSN(o *Owner, view func(whole *vk.Buffer, name string, off, floats int) *vk.Buffer) {
	off := 0
	for i, l := range p.Spec.Layers {
		vs := l.SNVectors(p.Spec.Name)
		if vs == nil {
			continue
		}
		rows, cols := l.SNShape()
		sn := &SNState{U: view(p.Vectors, vs[0].Name, off, rows), V: view(p.Vectors, vs[1].Name, off+p.roundUp(rows), cols)}
		off += p.roundUp(rows) + p.roundUp(cols)
		sn.Weight = o.Buffer(fmt.Sprintf("%s.%d.weight", p.Spec.Name, l.Module), rows*cols)
		op, err := layers.NewSpectralNorm(o.Device(), rows, cols)
		sn.Op = Keep(o, op, err)
		p.SN[i] = sn
	}
}

// initSN draws each spectral norm's u and v as PyTorch does, normalised
// N(0, 1) draws. PyTorch's first training-mode forward then takes a power
// iteration; a trainer takes it when it first prepares its new weights
// (Net.Prepare with Updated), so that the first update's σ is an estimate.
func (p *Store) initSN(r *rand.Rand) error {
	for i, l := range p.Spec.Layers {
		sn := p.SN[i]
		if sn == nil {
			continue
		}
		rows, cols := l.SNShape()
		for _, x := range []struct {
			b *vk.Buffer
			n int
		}{{sn.U, rows}, {sn.V, cols}} {
			f := make([]float32, x.n)
			for j, e := range normal(r, x.n) {
				f[j] = float32(e)
			}
			if err := x.b.Upload(0, vk.Float32Bytes(f)); err != nil {
				return err
			}
		}
	}
	return nil
}

// normal is n draws of N(0, 1), normalised.
func normal(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return normalized(v)
}

// normalized is v / max(‖v‖, 1e-12), as F.normalize.
func normalized(v []float64) []float64 {
	var ss float64
	for _, e := range v {
		ss += e * e
	}
	n := math.Max(math.Sqrt(ss), 1e-12)
	out := make([]float64, len(v))
	for i, e := range v {
		out[i] = e / n
	}
	return out
}

// roundUp is n floats rounded up to the next view offset.
func (p *Store) roundUp(n int) int { return (n + p.align - 1) / p.align * p.align }

// Init fills the parameters as DCGAN does, from r: weights N(0, 0.02),
// batch-norm γ N(1, 0.02) (a conditional one's gain table too), biases
// and β 0, a projection's embedding N(0, 0.02) as StudioGAN's, running mean 0 and variance 1,
// Adam's moments 0. The padding between tensors is 0 in every buffer, so
// Adam leaves it 0.
func (p *Store) Init(r *rand.Rand) error {
	err := p.Fill(func(*Param) float32 { return float32(0.02 * r.NormFloat64()) },
		func() float32 { return float32(1 + 0.02*r.NormFloat64()) })
	if err != nil {
		return err
	}
	return p.initSN(r)
}

// Fill sets every weight element to weight(its tensor) and every batch-norm
// γ to gamma(), drawn in state_dict order; biases, β, the gradients and
// Adam's moments to 0, and the running statistics to PyTorch's initial
// ones.
func (p *Store) Fill(weight func(t *Param) float32, gamma func() float32) error {
	val := make([]float32, p.Floats)
	for i, l := range p.Spec.Layers {
		for j, t := range p.Layers[i] {
			if !l.drawn(j) {
				continue // a bias or β
			}
			v := val[t.Off : t.Off+t.Count()]
			for k := range v {
				if l.Kind == BatchNorm && j == 0 {
					v[k] = gamma()
				} else {
					v[k] = weight(t)
				}
			}
		}
	}
	if err := p.Val.Upload(0, vk.Float32Bytes(val)); err != nil {
		return err
	}
	if p.M != nil {
		clear(val)
		for _, b := range []*vk.Buffer{p.Grad, p.M, p.V} {
			if err := b.Upload(0, vk.Float32Bytes(val)); err != nil {
				return err
			}
		}
	}
	return p.ResetRunning()
}

// CopyValues sets the store's values to src's, a store of the same
// network's shape, and its running statistics to PyTorch's initial ones
// (an EMA generator starting at the generator's weights).
func (p *Store) CopyValues(src *Store) error {
	v, err := ReadFloats(src.Val, src.Floats)
	if err == nil {
		err = p.Val.Upload(0, vk.Float32Bytes(v))
	}
	if err == nil {
		err = p.ResetRunning()
	}
	return err
}

// ResetRunning sets every batch norm's running statistics to PyTorch's
// initial ones: means 0, variances 1.
func (p *Store) ResetRunning() error {
	for i, l := range p.Spec.Layers {
		if rs := p.Running[i]; rs != nil {
			v := make([]float32, 2*l.K) // means 0, variances 1
			for k := l.K; k < 2*l.K; k++ {
				v[k] = 1
			}
			if err := rs.Upload(0, vk.Float32Bytes(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParamGrads records what turns the weight gradients a net's passes
// accumulated into the trained parameters' gradients: a spectrally
// normalised layer's passes accumulate ∂L/∂(W/σ), and the optimizer needs
// ∂L/∂W. Adam's Update runs it, once per update.
func (p *Store) ParamGrads(s *vk.Sequence) {
	defer s.Scope(s.InScope())
	for i, sn := range p.SN {
		if sn != nil {
			s.Scope(Scope(p.Spec.LayerName(i), PhaseBackward))
			sn.Op.Backward(s, p.Layers[i][0].Grad, sn.Weight, sn.U, sn.V)
		}
	}
}

// ZeroGrads records setting every parameter gradient to 0: one fill of
// the store's gradient buffer.
func (p *Store) ZeroGrads(s *vk.Sequence) { s.Fill(p.Grad, 0) }

// AverageRunning sets the running statistics to their mean over passes
// runs of pass, each a training-mode forward with batch-norm momentum 1
// (which leaves its batch's statistics in them), summed in float64 on the
// host.
func (p *Store) AverageRunning(passes int, pass func(k int) error) error {
	sums := make([][]float64, len(p.Running))
	for k := range passes {
		if err := pass(k); err != nil {
			return err
		}
		for i, rs := range p.Running {
			if rs == nil {
				continue
			}
			v, err := ReadFloats(rs, rs.Size()/4)
			if err != nil {
				return err
			}
			if sums[i] == nil {
				sums[i] = make([]float64, len(v))
			}
			for j, x := range v {
				sums[i][j] += float64(x)
			}
		}
	}
	for i, rs := range p.Running {
		if rs == nil {
			continue
		}
		v := make([]float32, len(sums[i]))
		for j, s := range sums[i] {
			v[j] = float32(s / float64(passes))
		}
		if err := rs.Upload(0, vk.Float32Bytes(v)); err != nil {
			return err
		}
	}
	return nil
}

// ReadFloats downloads a buffer's first n floats.
func ReadFloats(b *vk.Buffer, n int) ([]float32, error) { return ReadRange(b, 0, n) }

// ReadRange downloads n floats of a buffer from float off.
func ReadRange(b *vk.Buffer, off, n int) ([]float32, error) {
	out := make([]float32, n)
	if err := b.Download(4*off, vk.Float32Bytes(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// Finite reports whether every value is a number and not infinite.
func Finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
