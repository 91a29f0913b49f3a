package gan

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

// A grid PNG read back gives the images Grid drew, to the byte.
func TestGridImagesOf(t *testing.T) {
	for _, c := range []int{1, 3} {
		const n, s = 10, 7
		r := rand.New(rand.NewSource(int64(c)))
		imgs := make([]float32, n*c*s*s)
		for i := range imgs {
			imgs[i] = float32(r.Float64()*2 - 1)
		}
		got, m, err := gridImagesOf(Grid(imgs, n, c, s, 4), c, s)
		if err != nil {
			t.Fatal(err)
		}
		if m != 12 { // 3 rows of 4: the last two cells are empty
			t.Fatalf("%d channels: read %d cells, want 12", c, m)
		}
		for i, v := range imgs {
			if toByte(got[i]) != toByte(v) {
				t.Fatalf("%d channels: value %d reads back as %g, was %g", c, i, got[i], v)
			}
		}
	}
	if _, _, err := gridImagesOf(Grid(make([]float32, 4*49), 4, 1, 7, 2), 1, 8); err == nil {
		t.Error("a grid of 7-pixel images read as 8-pixel ones")
	}
}
