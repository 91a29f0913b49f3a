package ref

import (
	"math"
	"math/rand"
	"testing"
)

// The augmentation's gradient is its forward's, at the edges of the
// shift and of the cutout too: draws set by hand, every kind at once.
func TestAugmentGradient(t *testing.T) {
	const n, c, h, w = 5, 3, 8, 7 // shifts up to 1 row, 1 column; a 4×4 cutout
	draws := []AugmentDraw{
		{B: 0.3, S: 1.7, C: 0.6, TX: 1, TY: -1, CY: -2, CX: -2}, // cutout over the top-left corner
		{B: -0.2, S: 0.1, C: 1.4, TX: -1, TY: 1, CY: 6, CX: 5},  // over the bottom-right corner
		{S: 1, C: 1, CY: h, CX: w},                              // the identity
		{B: 0.1, S: 1, C: 1, TX: 1, TY: 1, CY: 2, CX: 1},        // brightness, a shift and a cutout inside
		{S: 0.5, C: 0.9, TX: -1, TY: -1, CY: h, CX: w},          // colour and a shift, no cutout
	}
	r := rand.New(rand.NewSource(1))
	x, g := randn(r, n*c*h*w, 1), randn(r, n*c*h*w, 1)
	dx := AugmentBackward(g, n, c, h, w, draws)
	checkGrad(t, "augment dx", x, dx, func() float64 { return dot(Augment(x, n, c, h, w, draws), g) })
	y := Augment(x, n, c, h, w, draws)
	for i := range c * h * w { // the identity draw
		if math.Abs(y[2*c*h*w+i]-x[2*c*h*w+i]) > 1e-12 {
			t.Fatalf("the identity draw changed element %d: %g → %g", i, x[2*c*h*w+i], y[2*c*h*w+i])
		}
	}
	// Sample 0 is shifted one column left and one row down and cut at the
	// top left: row 0 reads outside (zero), and (1, 1) is under the cutout.
	if v := y[0*w+3]; v != 0 {
		t.Errorf("sample 0, row 0 reads above the image and must be 0, is %g", v)
	}
	if v := y[1*w+1]; v != 0 {
		t.Errorf("sample 0, (1, 1) is under the cutout and must be 0, is %g", v)
	}
}

// Draws at p 0 are the identity; at p 1 every transform applies, and over
// a batch the shifts and cutout places reach both ends of their ranges.
func TestDrawAugmentRanges(t *testing.T) {
	const all = AugBrightness | AugSaturation | AugContrast | AugTranslation | AugCutout
	const h, w = 28, 28
	if d := DrawAugment(all, 0, h, w, 3, 7, 1, 5); d != (AugmentDraw{S: 1, C: 1, CY: h, CX: w}) {
		t.Errorf("p 0 drew %+v, want the identity", d)
	}
	seen := map[[2]int]bool{}
	for row := range 2000 {
		d := DrawAugment(all, 1, h, w, 3, 7, 1, row)
		if d.B < -0.5 || d.B > 0.5 || d.S <= 0 || d.S > 2 || d.C <= 0.5 || d.C > 1.5 {
			t.Fatalf("row %d drew strengths %+v outside DiffAugment's ranges", row, d)
		}
		seen[[2]int{0, d.TX}], seen[[2]int{1, d.TY}] = true, true
		seen[[2]int{2, d.CY}], seen[[2]int{3, d.CX}] = true, true
	}
	for _, want := range [][2]int{{0, -4}, {0, 4}, {1, -4}, {1, 4}, {2, -7}, {2, 28 - 7}, {3, -7}, {3, 28 - 7}} {
		if !seen[want] {
			t.Errorf("2000 draws never reached %v (0, 1: tx, ty in ±4; 2, 3: the cutout's first row and column in [−7, 21])", want)
		}
	}
}
