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
