package live

import (
	"math"
	"math/rand"
	"testing"
)

// slerp starts at a, ends at b, and keeps a Gaussian z's length on the way
// (a straight line would shrink it by about √2 halfway between two
// independent z's of the same length).
func TestSlerp(t *testing.T) {
	const dim = 100
	r := rand.New(rand.NewSource(1))
	a, b := make([]float32, 3*dim), make([]float32, 3*dim)
	for i := range a {
		a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	norm := func(v []float32) float64 {
		s := 0.0
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		return math.Sqrt(s)
	}
	for row := 0; row < 3; row++ {
		ra, rb := a[row*dim:(row+1)*dim], b[row*dim:(row+1)*dim]
		for _, tt := range []float64{0, 0.25, 0.5, 1} {
			got := slerp(a, b, tt, dim)[row*dim : (row+1)*dim]
			want := (1-tt)*norm(ra) + tt*norm(rb) // lengths are near equal: the arc's length moves about linearly
			if n := norm(got); math.Abs(n-want) > 0.05*want {
				t.Errorf("row %d, t %.2f: |z| = %.2f, want about %.2f", row, tt, n, want)
			}
			if tt == 0 || tt == 1 {
				end := ra
				if tt == 1 {
					end = rb
				}
				for i := range got {
					if math.Abs(float64(got[i]-end[i])) > 1e-5 {
						t.Fatalf("row %d, t %.0f: z[%d] = %g, want %g", row, tt, i, got[i], end[i])
					}
				}
			}
		}
	}
}
