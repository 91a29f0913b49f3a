package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Embedding records PyTorch's nn.Embedding for a batch: N labels (uint32,
// each below Classes) pick rows of a Classes×Dim table
// (shaders/embed.comp). It is what a class-conditional network reads its
// class through: conditional batch norm's gains and biases, a projection
// discriminator's class vector.
type Embedding struct {
	N, Classes, Dim int
	ks              parts
	fwd, bwd        *vk.Kernel
}

// NewEmbedding builds the embedding of n labels into a classes×dim table.
func NewEmbedding(d *vk.Device, n, classes, dim int) (*Embedding, error) {
	if n <= 0 || classes <= 0 || dim <= 0 {
		return nil, fmt.Errorf("layers: embedding: %d labels into %d×%d: need positive sizes", n, classes, dim)
	}
	e := &Embedding{N: n, Classes: classes, Dim: dim, ks: parts{dev: d}}
	name := fmt.Sprintf("embedding %d of %d×%d", n, classes, dim)
	specs := func(backward bool) shaders.EmbedSpecs {
		return shaders.EmbedSpecs{LocalX: local, N: uint32(n), Classes: uint32(classes), Dim: uint32(dim), Backward: backward, Accum: backward}
	}
	e.fwd = e.ks.add(name, specs(false))
	e.bwd = e.ks.add(name+" backward", specs(true))
	if e.ks.err != nil {
		e.Close()
		return nil, e.ks.err
	}
	return e, nil
}

// Close destroys the kernels.
func (e *Embedding) Close() { e.ks.close() }

// Forward records y[n] = table[labels[n]] (N×Dim floats, overwritten).
func (e *Embedding) Forward(s *vk.Sequence, y, table, labels *vk.Buffer) {
	need("embedding", "labels", labels, e.N)
	need("embedding", "table", table, e.Classes*e.Dim)
	need("embedding", "y", y, e.N*e.Dim)
	s.Dispatch(e.fwd, flatGroups(e.N*e.Dim), nil, shaders.EmbedBindings[*vk.Buffer]{Labels: labels, X: table, Y: y}.List()...)
}

// Backward records dtable[c] += Σ over the samples labelled c of dy[n]: a
// parameter gradient, so it accumulates. Each class's sum runs over the
// samples in order, so it gives the same bits on every run.
func (e *Embedding) Backward(s *vk.Sequence, dtable, dy, labels *vk.Buffer) {
	need("embedding", "labels", labels, e.N)
	need("embedding", "dy", dy, e.N*e.Dim)
	need("embedding", "dtable", dtable, e.Classes*e.Dim)
	s.Dispatch(e.bwd, flatGroups(e.Classes*e.Dim), nil, shaders.EmbedBindings[*vk.Buffer]{Labels: labels, X: dy, Y: dtable}.List()...)
}
