package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// LossKind is the loss a GAN trains with.
type LossKind int

const (
	// BCE is binary cross-entropy with logits, PyTorch's
	// nn.BCEWithLogitsLoss: the DCGAN paper's, with the generator's
	// non-saturating form (its fakes scored against target 1).
	BCE LossKind = iota
	// Hinge is the hinge loss (Lim and Ye 2017; SNGAN, Miyato et al.
	// 2018): relu(1 − D(x)) and relu(1 + D(G(z))) for the discriminator,
	// −D(G(z)) for the generator.
	Hinge
)

var lossNames = [...]string{BCE: "bce", Hinge: "hinge"}

func (k LossKind) String() string {
	if k < 0 || int(k) >= len(lossNames) {
		return fmt.Sprintf("LossKind(%d)", int(k))
	}
	return lossNames[k]
}

// ParseLossKind reads a loss by name (bce or hinge).
func ParseLossKind(name string) (LossKind, error) {
	for k, n := range lossNames {
		if n == name {
			return LossKind(k), nil
		}
	}
	return 0, fmt.Errorf("%q is not a loss: use bce or hinge", name)
}

// MarshalText writes the loss's name (config.json).
func (k LossKind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(lossNames) {
		return nil, fmt.Errorf("layers: unknown loss %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a loss's name.
func (k *LossKind) UnmarshalText(b []byte) error {
	v, err := ParseLossKind(string(b))
	*k = v
	return err
}

// LossRole is which of a step's loss terms a loss computes.
type LossRole int

const (
	RealForD LossRole = iota // the discriminator's on real images
	FakeForD                 // the discriminator's on fakes
	FakeForG                 // the generator's on fakes
)

// LossStats is how many floats a Loss writes to its slot of a stats
// buffer: the loss, the mean of sigmoid(logit) (D(x) or D(G(z))) and the
// mean of sign(logit) (ADA's r_t, on reals).
const LossStats = 3

// Loss records a GAN's loss term on a batch of the discriminator's logits,
// averaged over the batch, and its gradient (shaders/gan_loss.comp).
type Loss struct {
	N    int
	Kind LossKind
	Role LossRole
	Slot int
	ks   parts
	k    *vk.Kernel
}

// NewLoss builds the loss term for a batch of n logits, whose statistics
// go to floats LossStats·slot on of a stats buffer, so that the step's
// terms share one buffer.
func NewLoss(d *vk.Device, n int, kind LossKind, role LossRole, slot int) (*Loss, error) {
	switch {
	case n <= 0 || slot < 0:
		return nil, fmt.Errorf("layers: loss: batch %d must be positive and slot %d not negative", n, slot)
	case kind != BCE && kind != Hinge, role < RealForD || role > FakeForG:
		return nil, fmt.Errorf("layers: loss: unknown kind %d or role %d", kind, role)
	}
	l := &Loss{N: n, Kind: kind, Role: role, Slot: slot, ks: parts{dev: d}}
	l.k = l.ks.add(fmt.Sprintf("%s loss, role %d", kind, role), shaders.GanLossSpecs{Reduce: shaders.Reduce{LocalX: 256},
		B: uint32(n), Slot: uint32(slot), Role: uint32(role), Hinge: kind == Hinge})
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernel.
func (l *Loss) Close() { l.ks.close() }

// Forward records the loss into stats and its gradient dlogit = ∂loss/∂logit
// (overwritten), both from one pass over the logits.
func (l *Loss) Forward(s *vk.Sequence, dlogit, stats, logit *vk.Buffer) {
	need("loss", "logit", logit, l.N)
	need("loss", "dlogit", dlogit, l.N)
	need("loss", "stats", stats, LossStats*(l.Slot+1))
	s.Dispatch(l.k, vk.Groups{X: 1}, nil, shaders.GanLossBindings[*vk.Buffer]{Logits: logit, DL: dlogit, Stats: stats}.List()...)
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

// CompletionLoss records image completion's loss (Yeh et al. 2017) over B
// images of P floats each: the L1 distance of the generated image x to the
// known pixels of the target y, each pixel weighted by w (0 in the hole),
// plus λ·log(1 − D(x)), the perceptual loss, which is low where the
// discriminator takes x for real. Its two kernels run on either side of
// the discriminator's backward, which turns the perceptual loss's
// gradient at the logits into dd, its gradient at x.
type CompletionLoss struct {
	B, P              int
	Lambda            float32
	ks                parts
	perceptual, whole *vk.Kernel
}

// NewCompletionLoss builds the loss for b images of p floats.
func NewCompletionLoss(d *vk.Device, b, p int, lambda float32) (*CompletionLoss, error) {
	if b <= 0 || p <= 0 || lambda < 0 {
		return nil, fmt.Errorf("layers: completion loss: %d images of %d floats, λ %g: need positive sizes and λ ≥ 0", b, p, lambda)
	}
	l := &CompletionLoss{B: b, P: p, Lambda: lambda, ks: parts{dev: d}}
	specs := shaders.CompleteLossSpecs{Reduce: shaders.Reduce{LocalX: 256}, B: uint32(b), P: uint32(p), Lambda: lambda, Perceptual: false}
	l.whole = l.ks.add(fmt.Sprintf("completion loss %d×%d", b, p), specs)
	specs.Perceptual = true
	l.perceptual = l.ks.add(fmt.Sprintf("completion perceptual loss %d", b), specs)
	if l.ks.err != nil {
		l.Close()
		return nil, l.ks.err
	}
	return l, nil
}

// Close destroys the kernels.
func (l *CompletionLoss) Close() { l.ks.close() }

// Perceptual records λ·log(1 − σ(logit)) for each image into loss (float
// 2b+1 of its 2B) and its gradient at the logits into dlogit (B floats,
// overwritten).
func (l *CompletionLoss) Perceptual(s *vk.Sequence, dlogit, loss, logit *vk.Buffer) {
	need("completion loss", "logit", logit, l.B)
	need("completion loss", "dlogit", dlogit, l.B)
	need("completion loss", "loss", loss, 2*l.B)
	s.Dispatch(l.perceptual, vk.Groups{X: 1}, nil, shaders.CompleteLossBindings[*vk.Buffer]{
		X: logit, Y: logit, W: logit, Logit: logit, DD: logit, DX: dlogit, DL: dlogit, Loss: loss}.List()...)
}

// Contextual records each image's weighted L1 distance Σ w·|x − y| into
// loss (float 2b of its 2B) and the whole loss's gradient at x into dx
// (overwritten): dd, the perceptual loss's gradient at x, plus
// w·sign(x − y).
func (l *CompletionLoss) Contextual(s *vk.Sequence, dx, loss, x, y, w, dd *vk.Buffer) {
	for _, b := range []struct {
		name string
		b    *vk.Buffer
	}{{"x", x}, {"y", y}, {"w", w}, {"dd", dd}, {"dx", dx}} {
		need("completion loss", b.name, b.b, l.B*l.P)
	}
	need("completion loss", "loss", loss, 2*l.B)
	s.Dispatch(l.whole, vk.Groups{X: uint32(l.B)}, nil, shaders.CompleteLossBindings[*vk.Buffer]{
		X: x, Y: y, W: w, Logit: loss, DD: dd, DX: dx, DL: loss, Loss: loss}.List()...)
}
