package ref

import (
	"fmt"
	"math"
)

// Tol is how close a float32 result must be to its reference: element by
// element within Abs·rms(want) + Rel·|want|. The absolute part is measured
// in the tensor's own scale (its root mean square), because a float32 sum's
// error grows with the size of its terms, not of its result: a gradient
// element that cancels to nearly zero is still off by a few ulps of the
// terms that cancelled.
type Tol struct {
	Name     string
	Abs, Rel float64
}

// The tolerance levels tests use, from strictest to loosest.
var (
	// Exact: the same bits (random draws, masks, determinism).
	Exact = Tol{"exact", 0, 0}
	// Pointwise: one float32 expression per element (activations, Adam,
	// normalisation with given statistics).
	Pointwise = Tol{"pointwise", 1e-6, 1e-5}
	// Transcendental: pointwise through exp, log, tanh, sin or cos, which
	// Vulkan does not require to be correctly rounded (GLSL allows exp
	// 3+2|x| ulp).
	Transcendental = Tol{"transcendental", 1e-5, 1e-5}
	// Sum: float32 sums of up to ~10⁵ terms of unit scale (conv, linear,
	// batch statistics, gradients), summed in another order than the
	// reference's float64.
	Sum = Tol{"sum", 2e-5, 2e-4}
	// Torch: against PyTorch's float32 goldens, where both sides round.
	Torch = Tol{"torch", 5e-5, 5e-4}
)

// Check returns nil when every got[i] is within t of want[i], or an error
// naming how many are not and the worst one.
func (t Tol) Check(got, want []float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	var ms float64
	for _, w := range want {
		ms += w * w
	}
	scale := math.Sqrt(ms / math.Max(1, float64(len(want))))
	bad, worst, worstExcess := 0, -1, 0.0
	for i := range got {
		d := math.Abs(got[i] - want[i])
		lim := t.Abs*scale + t.Rel*math.Abs(want[i])
		if d > lim || math.IsNaN(got[i]) != math.IsNaN(want[i]) {
			bad++
			if ex := d / math.Max(lim, 1e-300); worst < 0 || ex > worstExcess || math.IsNaN(ex) {
				worst, worstExcess = i, ex
			}
		}
	}
	if bad == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d values outside the %s tolerance (abs %g·rms %.3g, rel %g); worst at [%d]: got %.9g, want %.9g",
		bad, len(got), t.Name, t.Abs, scale, t.Rel, worst, got[worst], want[worst])
}
