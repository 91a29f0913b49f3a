package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// BCE records binary cross-entropy with logits against one target for the
// whole batch, averaged over the batch: PyTorch's
// nn.BCEWithLogitsLoss()(logits, full(Target)). Target 1 scores real data
// (and the generator's non-saturating loss on fakes), 0 fake data.
type BCE struct {
	N      int
	Target float32
	Slot   int
	ks     parts
	k      *vk.Kernel
}

// NewBCE builds the loss for a batch of n logits. Forward writes the loss
// and the mean of sigmoid(logit) (D(x) or D(G(z))) to floats 2·slot and
// 2·slot+1 of a stats buffer, so several losses of a step share one buffer.
func NewBCE(d *vk.Device, n int, target float32, slot int) (*BCE, error) {
	if n <= 0 || slot < 0 {
		return nil, fmt.Errorf("layers: bce: batch %d must be positive and slot %d not negative", n, slot)
	}
	l := &BCE{N: n, Target: target, Slot: slot, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("bce target %g", target), shaders.BceSpecs{Reduce: shaders.Reduce{LocalX: 256},
		B: uint32(n), Target: target, Slot: uint32(slot)})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernel.
func (l *BCE) Close() { l.ks.close() }

// Forward records the loss into stats and its gradient dlogit = ∂loss/∂logit
// (overwritten), both from one pass over the logits.
func (l *BCE) Forward(s *vk.Sequence, dlogit, stats, logit *vk.Buffer) {
	need("bce", "logit", logit, l.N)
	need("bce", "dlogit", dlogit, l.N)
	need("bce", "stats", stats, 2*l.Slot+2)
	s.Dispatch(l.k, vk.Groups{X: 1}, nil, shaders.BceBindings[*vk.Buffer]{Logits: logit, DL: dlogit, Stats: stats}.List()...)
}

// SoftmaxCrossEntropy records the softmax cross-entropy of N rows of K
// logits against integer labels in [0, K), averaged over the batch:
// PyTorch's nn.CrossEntropyLoss()(logits, labels).
type SoftmaxCrossEntropy struct {
	N, K int
	ks   parts
	k    *vk.Kernel
}

// NewSoftmaxCrossEntropy builds the loss for a batch of n rows of k logits.
func NewSoftmaxCrossEntropy(d *vk.Device, n, k int) (*SoftmaxCrossEntropy, error) {
	if n <= 0 || k < 2 {
		return nil, fmt.Errorf("layers: softmax cross-entropy: batch %d must be positive and classes %d at least 2", n, k)
	}
	l := &SoftmaxCrossEntropy{N: n, K: k, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("softmax cross-entropy %d classes", k), shaders.SoftmaxXentSpecs{Reduce: shaders.Reduce{LocalX: 256},
		B: uint32(n), K: uint32(k)})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernel.
func (l *SoftmaxCrossEntropy) Close() { l.ks.close() }

// Forward records the loss and the accuracy (the fraction of rows whose
// largest logit is the label's) into floats 0 and 1 of stats, and the
// gradient dlogit = ∂loss/∂logit (overwritten), from one pass over the
// logits. labels holds N uint32s, each below K (the caller checks: a label
// out of range is read as K−1).
func (l *SoftmaxCrossEntropy) Forward(s *vk.Sequence, dlogit, stats, logit, labels *vk.Buffer) {
	need("softmax cross-entropy", "logit", logit, l.N*l.K)
	need("softmax cross-entropy", "dlogit", dlogit, l.N*l.K)
	need("softmax cross-entropy", "labels", labels, l.N)
	need("softmax cross-entropy", "stats", stats, 2)
	s.Dispatch(l.k, vk.Groups{X: 1}, nil,
		shaders.SoftmaxXentBindings[*vk.Buffer]{Logits: logit, Labels: labels, DL: dlogit, Stats: stats}.List()...)
}
