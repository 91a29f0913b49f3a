package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// GEMM is one GEMM pass built alone with one tile, over operands of its
// own: what gan-vk tune times to choose a pass's tile. Its operands hold
// zeros; the weight rearrangement a real pass starts with is not part of
// it (it does not depend on the tile).
type GEMM struct {
	Pass Pass
	Tile Tile
	ks   parts
	g    gemm
	io   gemmIO
}

// GEMMOperands are the buffers a pass reads and writes, shared by every
// tile of it that is timed so each starts on memory already touched.
type GEMMOperands struct {
	ks parts
	io gemmIO
}

// NewGEMMOperands allocates (and zeroes) p's operands.
func NewGEMMOperands(d *vk.Device, p Pass) (*GEMMOperands, error) {
	o := &GEMMOperands{ks: parts{dev: d}}
	g := p.geom
	nx, nrows := p.operands()
	name := p.String()
	switch p.Op {
	case OpConvWgrad: // x, dy rearranged, dw
		o.io = gemmIO{x: o.ks.buffer(name+" x", nx), rows: o.ks.buffer(name+" dyt", nrows),
			out: o.ks.buffer(name+" dw", g.k*g.c*g.kh*g.kw)}
	default: // x, w rearranged, b, y
		o.io = gemmIO{o.ks.buffer(name+" x", nx), o.ks.buffer(name+" wt", nrows),
			o.ks.buffer(name+" b", g.k), o.ks.buffer(name+" y", g.n*g.k*g.oh*g.ow)}
	}
	if o.ks.err != nil {
		o.Close()
		return nil, o.ks.err
	}
	s, err := d.NewSequence("zero " + name)
	if err != nil {
		o.Close()
		return nil, err
	}
	defer s.Close()
	for _, b := range []*vk.Buffer{o.io.x, o.io.rows, o.io.bias, o.io.out} {
		if b != nil {
			s.Fill(b, 0)
		}
	}
	if err := s.Submit(); err != nil {
		o.Close()
		return nil, fmt.Errorf("layers: zeroing the operands of %s: %w", name, err)
	}
	return o, nil
}

// Close frees the operands.
func (o *GEMMOperands) Close() { o.ks.close() }

// NewGEMM builds p with tile t (fitted to p) over ops.
func NewGEMM(d *vk.Device, p Pass, t Tile, ops *GEMMOperands) (*GEMM, error) {
	t = t.Fit(p)
	if err := t.Check(d.Info(), p); err != nil {
		return nil, fmt.Errorf("layers: %s: %w", p, err)
	}
	m := &GEMM{Pass: p, Tile: t, ks: parts{dev: d}, io: ops.io}
	m.g = newGEMM(&m.ks, p.String(), p, t, epilogue{})
	if m.ks.err != nil {
		m.Close()
		return nil, m.ks.err
	}
	return m, nil
}

// Record records the pass.
func (m *GEMM) Record(s *vk.Sequence) { m.g.dispatch(s, m.io) }

// Close destroys the kernels.
func (m *GEMM) Close() { m.ks.close() }

// Candidates are the tiles worth timing for p on a device, fitted to p,
// each once, the heuristic's first and then the rest of its form and
// loads, most promising first, so that a quick tune (a few candidates, a
// short budget) times what the device is likely to run fastest. Each has
// the split the heuristic would give it on this device (defaultSplit);
// other splits are tried on the winner (SplitCandidates). Tiles the
// device cannot run are left out.
func Candidates(info vk.DeviceInfo, p Pass) []Tile {
	h := Heuristic(info, p)
	var out []Tile
	seen := map[Tile]bool{}
	try := func(t Tile) {
		t = t.Fit(p)
		t.Split = defaultSplit(info, p, t)
		if seen[t] || t.Check(info, p) != nil {
			return
		}
		seen[t] = true
		out = append(out, t)
	}
	try(h)
	var register, shared []Tile
	for _, wg := range [][2]int{{8, 8}, {8, 4}, {16, 8}, {32, 8}} {
		for _, b := range [][2]int{{32, 8}, {16, 8}, {16, 16}, {8, 8}, {8, 4}, {4, 4}} {
			register = append(register, Tile{Form: Register, LX: wg[0], LY: wg[1], TM: b[0], TN: b[1]})
		}
	}
	// The shared form's 8×8 blocks first (CUTLASS's), then the smaller.
	for _, b := range [][2]int{{8, 8}, {8, 4}, {4, 8}, {4, 4}} {
		for _, wg := range [][2]int{{16, 16}, {16, 8}, {8, 16}, {8, 8}, {32, 8}} {
			for _, bk := range []int{8, 16} {
				for _, pre := range []bool{true, false} {
					shared = append(shared, Tile{Form: Shared, LX: wg[0], LY: wg[1], TM: b[0], TN: b[1], BK: bk, Prefetch: pre})
				}
			}
		}
	}
	forms := [][]Tile{register, shared}
	if h.Form == Shared {
		forms[0], forms[1] = shared, register
	}
	for _, form := range forms {
		for _, loads := range []Loads{h.Loads, 1 - h.Loads} {
			for _, t := range form {
				t.Loads = loads
				try(t)
			}
		}
	}
	return out
}

// defaultSplit is the split the heuristic gives tile t for p on a device:
// on a GPU enough slices to fill it (gpuSplit), on a CPU device none.
func defaultSplit(info vk.DeviceInfo, p Pass, t Tile) int {
	if info.Type == vk.TypeCPU {
		return 1
	}
	return gpuSplit(info, p, t)
}

// SplitCandidates are t with its reduction split other ways: 1, 2, 4, …
// slices up to one per sample of a filter gradient, or up to one per input
// channel (and 1024) of a forward pass whose grid holds fewer than
// 4·gpuFill invocations, the device permitting.
func SplitCandidates(info vk.DeviceInfo, p Pass, t Tile) []Tile {
	most := p.maxSplit()
	if p.Op != OpConvWgrad {
		if t.gridSize(p)*t.LX*t.LY >= 4*gpuFill {
			return nil
		}
		most = min(most, 1024)
	}
	var out []Tile
	for s := 1; s <= most; s *= 2 {
		u := t
		u.Split = s
		if s != t.Split && u.Check(info, p) == nil {
			out = append(out, u)
		}
	}
	return out
}

// KernelsVersion names the GEMM kernels' build: a hash of their SPIR-V.
// Timings of one build do not hold for another, so a tuning cache written
// for another is stale.
func KernelsVersion() string {
	h := sha256.New()
	for _, s := range []shaders.Shader{shaders.ConvFwd, shaders.ConvtFwd, shaders.ConvWgrad, shaders.SumSlices} {
		h.Write(s.SPIRV())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
