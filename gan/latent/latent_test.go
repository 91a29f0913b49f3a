package latent

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// Slerp starts at a, ends at b, and keeps a Gaussian z's length on the way
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
			got := Slerp(a, b, tt, dim)[row*dim : (row+1)*dim]
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
					if got[i] != end[i] {
						t.Fatalf("row %d, t %.0f: z[%d] = %g, want %g", row, tt, i, got[i], end[i])
					}
				}
			}
		}
	}
}

// A walk visits each point in order, frames apart, and loops: its first
// frame of each leg is the point itself.
func TestWalk(t *testing.T) {
	pts := [][]float32{{1, 0}, {0, 1}, {-1, 0}}
	for _, slerp := range []bool{true, false} {
		w := Walk(pts, 4, 2, slerp)
		if len(w) != 12 {
			t.Fatalf("slerp %v: %d frames, want 12", slerp, len(w))
		}
		for i, p := range pts {
			if w[4*i][0] != p[0] || w[4*i][1] != p[1] {
				t.Errorf("slerp %v: frame %d is %v, want point %d %v", slerp, 4*i, w[4*i], i, p)
			}
		}
		mid := w[2] // halfway from (1,0) to (0,1)
		n := math.Hypot(float64(mid[0]), float64(mid[1]))
		if want := map[bool]float64{true: 1, false: math.Sqrt2 / 2}[slerp]; math.Abs(n-want) > 1e-6 {
			t.Errorf("slerp %v: |z| halfway = %.4f, want %.4f", slerp, n, want)
		}
	}
}

func TestParseExpr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1-2+3", "1-2+3"},
		{" (1, 2,3) - (4,5,6) + (7,8,9) ", "(1,2,3)-(4,5,6)+(7,8,9)"},
		{"-5", "-5"},
		{"+5+(6)", "5+6"},
	} {
		e, err := ParseExpr(c.in)
		if err != nil || e.String() != c.want {
			t.Errorf("ParseExpr(%q) = %v, %v; want %s", c.in, e, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "empty expression"},
		{"1-", "want a seed at the end"},
		{"1*2", `want + or - at "*2"`},
		{"(1,2", "want , or ) at the end"},
		{"(1,,2)", `want a seed at ",2)"`},
		{"a+b", `want a seed at "a+b"`},
		{"99999999999999999999", "below 2^64"},
	} {
		if _, err := ParseExpr(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseExpr(%q): %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// Eval is the signed sum of the terms' mean z's.
func TestEval(t *testing.T) {
	e, err := ParseExpr("(1,3)-2+4")
	if err != nil {
		t.Fatal(err)
	}
	z := func(s uint64) ([]float32, error) { return []float32{float32(s), float32(10 * s)}, nil }
	got, terms, err := e.Eval(z)
	if err != nil {
		t.Fatal(err)
	}
	// mean(1,3) = 2; 2 - 2 + 4 = 4
	if got[0] != 4 || got[1] != 40 || len(terms) != 3 || terms[0][0] != 2 || terms[1][0] != 2 {
		t.Errorf("Eval = %v with terms %v; want [4 40] with terms [2 20] [2 20] [4 40]", got, terms)
	}
}
