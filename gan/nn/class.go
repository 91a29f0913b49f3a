package nn

import (
	"fmt"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// classOps are what a class-conditional layer (LayerSpec.Classes) runs
// beside its own op, and the buffers between them.
//
// A conditional batch norm is the field's (StudioGAN's, BigGAN's,
// SNGAN's): batch norm without an affine of its own (its layers.BatchNorm2d
// runs with γ 1 and β 0, which change no bit), then each sample scaled and
// shifted by its class's rows of two embeddings (layers.ClassAffine), the
// activation fused after. A projection discriminator's last dense layer
// adds ⟨embed(class), input⟩ to each logit (layers.Projection).
type classOps struct {
	name  string // the layer's, in messages
	embed *layers.Embedding

	// A conditional batch norm's.
	affine        *layers.ClassAffine
	norm          *vk.Buffer // the batch normalised, before the affine
	gain, bias    *vk.Buffer // N×K: each sample's rows of the two embeddings
	dgain, dbias  *vk.Buffer // training: their gradients, per sample
	ones, zeros   *vk.Buffer // K: the inner batch norm's γ and β
	dgamma, dbeta *vk.Buffer // training: its γ and β gradients, which nothing reads

	// A projection's.
	proj  *layers.Projection
	e, de *vk.Buffer // N×C: each sample's row of the embedding, its gradient (training)
}

// newClassOps builds layer i's class-conditional ops at batch n, with the
// buffers backward needs when train.
func newClassOps(o *Owner, spec Spec, i, n int, train bool) *classOps {
	l, d := spec.Layers[i], o.Device()
	name := fmt.Sprintf("%s.%d", spec.Name, l.Module)
	c := &classOps{name: name}
	if l.Kind == Dense {
		e, err := layers.NewEmbedding(d, n, l.Classes, l.C)
		c.embed = Keep(o, e, err)
		p, err := layers.NewProjection(d, n, l.C)
		c.proj = Keep(o, p, err)
		c.e = o.Buffer(name+" class embedding", n*l.C)
		if train {
			c.de = o.Buffer(name+" class embedding grad", n*l.C)
		}
		return c
	}
	e, err := layers.NewEmbedding(d, n, l.Classes, l.K)
	c.embed = Keep(o, e, err)
	a, err := layers.NewClassAffine(d, n, l.K, l.OH*l.OW, l.Act)
	c.affine = Keep(o, a, err)
	c.norm = o.Buffer(name+" normalised", n*l.OutCount())
	c.gain, c.bias = o.Buffer(name+" class gain", n*l.K), o.Buffer(name+" class bias", n*l.K)
	c.ones, c.zeros = o.Buffer(name+" ones", l.K), o.Buffer(name+" zeros", l.K)
	if train {
		c.dgain, c.dbias = o.Buffer(name+" class gain grad", n*l.K), o.Buffer(name+" class bias grad", n*l.K)
		c.dgamma, c.dbeta = o.Buffer(name+" unused γ grad", l.K), o.Buffer(name+" unused β grad", l.K)
	}
	if o.Err() != nil {
		return nil
	}
	ones, zeros := make([]float32, l.K), make([]float32, l.K)
	for k := range ones {
		ones[k] = 1
	}
	for _, u := range []struct {
		b *vk.Buffer
		v []float32
	}{{c.ones, ones}, {c.zeros, zeros}} {
		if err := u.b.Upload(0, vk.Float32Bytes(u.v)); err != nil {
			o.Fail(fmt.Errorf("nn: building the %s: %w", spec.Name, err))
			return nil
		}
	}
	return c
}

// labels are md's, which a conditional network cannot run without.
func (md Mode) labels(layer string) *vk.Buffer {
	if md.Labels == nil {
		panic(fmt.Sprintf("nn: %s is class-conditional: a pass needs Mode.Labels", layer))
	}
	return md.Labels
}

// normalize records a conditional batch norm's forward into out, with
// the gain and bias embeddings ps.
func (c *classOps) normalize(s *vk.Sequence, bn *layers.BatchNorm2d, out, in *vk.Buffer, ps []*Param, running *vk.Buffer, md Mode) {
	labels := md.labels(c.name)
	c.embed.Forward(s, c.gain, ps[0].Val, labels)
	c.embed.Forward(s, c.bias, ps[1].Val, labels)
	if md.Train {
		bn.Forward(s, c.norm, in, c.ones, c.zeros, running)
	} else {
		bn.ForwardEval(s, c.norm, in, c.ones, c.zeros, running)
	}
	c.affine.Forward(s, out, c.norm, c.gain, c.bias)
}

// normalizeBackward records its backward from dy (overwritten) into dx,
// which may be dy; with WeightGrads the embeddings' gradients accumulate.
func (c *classOps) normalizeBackward(s *vk.Sequence, bn *layers.BatchNorm2d, dx, dy, in, out *vk.Buffer, ps []*Param, running *vk.Buffer, md Mode, g Grads) {
	labels := md.labels(c.name)
	if c.dgain == nil {
		panic("nn: " + c.name + ": a conditional batch norm's backward needs a net built with Options.Train")
	}
	c.affine.Backward(s, dy, c.dgain, c.dbias, dy, c.norm, out, c.gain) // dy becomes ∂L/∂norm
	if g&WeightGrads != 0 {
		c.embed.Backward(s, ps[0].Grad, c.dgain, labels)
		c.embed.Backward(s, ps[1].Grad, c.dbias, labels)
	}
	if !md.Train {
		bn.BackwardEval(s, dx, dy, c.norm, c.ones, running)
		return
	}
	s.Fill(c.dgamma, 0) // never read: kept finite
	s.Fill(c.dbeta, 0)
	bn.Backward(s, dx, c.dgamma, c.dbeta, dy, in, c.norm, c.ones)
}

// project records a projection's class term onto the logits out the
// dense layer wrote from its input in.
func (c *classOps) project(s *vk.Sequence, out, in *vk.Buffer, ps []*Param, md Mode) {
	c.embed.Forward(s, c.e, ps[len(ps)-1].Val, md.labels(c.name))
	c.proj.Forward(s, out, in, c.e)
}

// projectBackward records its backward from dl = ∂L/∂logit onto dx, the
// gradient the dense layer's backward left at its input; with
// WeightGrads the embedding's gradient accumulates.
func (c *classOps) projectBackward(s *vk.Sequence, dx, dl, in *vk.Buffer, ps []*Param, md Mode, g Grads) {
	labels := md.labels(c.name)
	if c.de == nil || dx == nil {
		panic("nn: " + c.name + ": a projection's backward needs a net built with Options.Train, and a layer before it")
	}
	c.proj.Backward(s, dx, c.de, dl, in, c.e)
	if g&WeightGrads != 0 {
		c.embed.Backward(s, ps[len(ps)-1].Grad, c.de, labels)
	}
}
