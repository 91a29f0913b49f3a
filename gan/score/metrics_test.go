package score

import (
	"math"
	"math/rand"
	"testing"
)

// gaussian draws n rows of dim features N(mean, diag(variance)).
func gaussian(r *rand.Rand, n, dim int, mean, variance func(j int) float64) Features {
	f := Features{N: n, Dim: dim, V: make([]float64, n*dim)}
	for i := range n {
		for j := range dim {
			f.V[i*dim+j] = mean(j) + math.Sqrt(variance(j))*r.NormFloat64()
		}
	}
	return f
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// FD has a closed form for diagonal covariances: |Δμ|² + Σ (√a − √b)².
func TestFDClosedForm(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const n, dim = 20000, 8
	a := Fit(gaussian(r, n, dim, constant(0), func(j int) float64 { return 1 + float64(j) }))
	b := Fit(gaussian(r, n, dim, constant(0.5), func(j int) float64 { return 4 }))
	want := 0.0
	for j := range dim {
		want += 0.25 + math.Pow(math.Sqrt(1+float64(j))-2, 2)
	}
	got, err := FD(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 0.05*want {
		t.Errorf("FD %.4f, want %.4f", got, want)
	}
	if self, _ := FD(a, a); math.Abs(self) > 1e-9 {
		t.Errorf("FD of a Gaussian with itself %g, want 0", self)
	}
	if ba, _ := FD(b, a); math.Abs(ba-got) > 1e-6*want {
		t.Errorf("FD is not symmetric: %g and %g", got, ba)
	}
}

func TestKIDAndPrecisionRecall(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	const n, dim = 1500, 16
	a := gaussian(r, n, dim, constant(0), constant(1))
	same := gaussian(r, n, dim, constant(0), constant(1))
	far := gaussian(r, n, dim, constant(3), constant(1))
	narrow := gaussian(r, n, dim, constant(0), constant(0.05)) // mode collapse: a small part of a
	kSame, spread := KID(a, same, 5, 500, 1)
	kFar, _ := KID(a, far, 5, 500, 1)
	if math.Abs(kSame) > 3*spread+1e-3 || kFar < 100*math.Abs(kSame) {
		t.Errorf("KID of the same distribution %g ± %g, of a shifted one %g", kSame, spread, kFar)
	}
	if p, rc := PrecisionRecall(a, same, 3); p < 0.6 || rc < 0.6 {
		t.Errorf("the same distribution: precision %.3f recall %.3f, want both high", p, rc)
	}
	if p, rc := PrecisionRecall(a, far, 3); p > 0.05 || rc > 0.05 {
		t.Errorf("a far distribution: precision %.3f recall %.3f, want both near 0", p, rc)
	}
	if p, rc := PrecisionRecall(a, narrow, 3); p < 0.9 || rc > 0.2 {
		t.Errorf("a collapsed distribution: precision %.3f recall %.3f, want high precision, low recall", p, rc)
	}
}

func TestClassify(t *testing.T) {
	uniform := make([]float32, 4*10)
	if c := Classify(uniform, 4); math.Abs(c.IS-1) > 1e-9 || c.Histogram[0] != 10 {
		t.Errorf("uniform logits: IS %g (want 1), histogram %v (ties go to the first class)", c.IS, c.Histogram)
	}
	var sure []float32 // each image certain of its class, the classes balanced
	for i := range 8 {
		row := make([]float32, 4)
		row[i%4] = 50
		sure = append(sure, row...)
	}
	c := Classify(sure, 4)
	if math.Abs(c.IS-4) > 1e-6 || c.Histogram[3] != 2 {
		t.Errorf("certain balanced logits: IS %g (want 4), histogram %v", c.IS, c.Histogram)
	}
	one := make([]float32, 0, 40) // all certain of class 2: collapse
	for range 10 {
		one = append(one, 0, 0, 50, 0)
	}
	if c := Classify(one, 4); math.Abs(c.IS-1) > 1e-6 || c.Histogram[2] != 10 {
		t.Errorf("one class: IS %g (want 1), histogram %v", c.IS, c.Histogram)
	}
}
