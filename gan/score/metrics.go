package score

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Features are n rows of dim features, row-major.
type Features struct {
	N, Dim int
	V      []float64
}

func (f Features) row(i int) []float64 { return f.V[i*f.Dim : (i+1)*f.Dim] }

// subset is m rows drawn without replacement by r (all of them, in order,
// when m ≥ N).
func (f Features) subset(m int, r *rand.Rand) Features {
	if m >= f.N {
		return f
	}
	out := Features{N: m, Dim: f.Dim, V: make([]float64, 0, m*f.Dim)}
	idx := r.Perm(f.N)[:m]
	sort.Ints(idx)
	for _, i := range idx {
		out.V = append(out.V, f.row(i)...)
	}
	return out
}

func (f Features) dense() *mat.Dense { return mat.NewDense(f.N, f.Dim, f.V) }

// Gaussian is the mean and covariance of a set of features.
type Gaussian struct {
	Mean []float64
	Cov  *mat.SymDense
}

// Fit is the mean and the (unbiased) covariance of f's rows.
func Fit(f Features) Gaussian {
	mean := make([]float64, f.Dim)
	for i := range f.N {
		for j, v := range f.row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(f.N)
	}
	centred := mat.NewDense(f.N, f.Dim, nil)
	for i := range f.N {
		for j, v := range f.row(i) {
			centred.Set(i, j, v-mean[j])
		}
	}
	cov := mat.NewSymDense(f.Dim, nil)
	cov.SymOuterK(1/float64(f.N-1), centred.T())
	return Gaussian{Mean: mean, Cov: cov}
}

// float32 is g rounded to float32 precision.
func (g Gaussian) float32() Gaussian {
	out := Gaussian{Mean: make([]float64, len(g.Mean)), Cov: mat.NewSymDense(g.Cov.SymmetricDim(), nil)}
	for i, v := range g.Mean {
		out.Mean[i] = float64(float32(v))
	}
	n := g.Cov.SymmetricDim()
	for i := range n {
		for j := i; j < n; j++ {
			out.Cov.SetSym(i, j, float64(float32(g.Cov.At(i, j))))
		}
	}
	return out
}

// FD is the Fréchet distance between two Gaussians,
// |μa − μb|² + Tr(Σa + Σb − 2(Σa Σb)^½). The trace of the square root is
// the sum of the square roots of the eigenvalues of Σa^½ Σb Σa^½, a
// symmetric matrix with the same eigenvalues as Σa Σb.
func FD(a, b Gaussian) (float64, error) {
	d := 0.0
	for i := range a.Mean {
		d += (a.Mean[i] - b.Mean[i]) * (a.Mean[i] - b.Mean[i])
	}
	root, err := sqrtSym(a.Cov)
	if err != nil {
		return 0, err
	}
	var m mat.Dense
	m.Product(root, b.Cov, root)
	sym := mat.NewSymDense(a.Cov.SymmetricDim(), nil)
	n := sym.SymmetricDim()
	for i := range n {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return 0, fmt.Errorf("score: the eigenvalues of Σa^½ Σb Σa^½ did not converge")
	}
	trSqrt := 0.0
	for _, v := range eig.Values(nil) {
		trSqrt += math.Sqrt(max(v, 0))
	}
	return d + mat.Trace(a.Cov) + mat.Trace(b.Cov) - 2*trSqrt, nil
}

// sqrtSym is the symmetric square root of a positive semi-definite matrix
// (negative eigenvalues, from rounding, taken as 0).
func sqrtSym(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("score: the eigenvalues of a covariance did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	n := len(vals)
	scaled := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			scaled.Set(i, j, vecs.At(i, j)*math.Sqrt(max(vals[j], 0)))
		}
	}
	var out mat.Dense
	out.Mul(scaled, vecs.T())
	return &out, nil
}

// KID is the kernel distance: the unbiased estimate of the squared maximum
// mean discrepancy with the kernel k(x, y) = (x·y/dim + 1)³, as
// StyleGAN2-ADA computes it, on subsets of m rows of each set; it returns
// the mean and the standard deviation over the subsets.
func KID(a, b Features, subsets, m int, seed int64) (mean, spread float64) {
	m = min(m, a.N, b.N)
	r := rand.New(rand.NewSource(seed))
	vals := make([]float64, subsets)
	for s := range vals {
		x, y := a.subset(m, r).dense(), b.subset(m, r).dense()
		kxx, kyy, kxy := kernel(x, x, a.Dim), kernel(y, y, a.Dim), kernel(x, y, a.Dim)
		var sxx, syy, sxy float64
		for i := range m {
			for j := range m {
				if i != j {
					sxx += kxx.At(i, j)
					syy += kyy.At(i, j)
				}
				sxy += kxy.At(i, j)
			}
		}
		fm := float64(m)
		vals[s] = (sxx+syy)/(fm*(fm-1)) - 2*sxy/(fm*fm)
	}
	return meanStd(vals)
}

func kernel(x, y *mat.Dense, dim int) *mat.Dense {
	var k mat.Dense
	k.Mul(x, y.T())
	k.Apply(func(_, _ int, v float64) float64 { v = v/float64(dim) + 1; return v * v * v }, &k)
	return &k
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		std = math.Sqrt(std / float64(len(v)-1))
	}
	return mean, std
}

// PrecisionRecall are Kynkäänniemi et al.'s (2019) improved precision and
// recall with k nearest neighbours: the fraction of generated samples
// inside the reference set's manifold (the union of balls around each
// reference sample reaching its k-th nearest reference neighbour), and the
// fraction of reference samples inside the generated set's.
func PrecisionRecall(ref, gen Features, k int) (precision, recall float64) {
	rr, gr := kthNeighbour(ref, k), kthNeighbour(gen, k)
	return covered(gen, ref, rr), covered(ref, gen, gr)
}

// block is how many rows distances are computed for at a time.
const block = 1024

// squaredDistances calls f with rows [lo, hi) of a and the matrix of their
// squared distances to every row of b.
func squaredDistances(a, b Features, f func(lo int, d *mat.Dense)) {
	bn := norms(b)
	bd := b.dense()
	for lo := 0; lo < a.N; lo += block {
		hi := min(lo+block, a.N)
		part := Features{N: hi - lo, Dim: a.Dim, V: a.V[lo*a.Dim : hi*a.Dim]}
		an := norms(part)
		var d mat.Dense
		d.Mul(part.dense(), bd.T())
		d.Apply(func(i, j int, v float64) float64 { return max(an[i]+bn[j]-2*v, 0) }, &d)
		f(lo, &d)
	}
}

func norms(f Features) []float64 {
	out := make([]float64, f.N)
	for i := range f.N {
		for _, v := range f.row(i) {
			out[i] += v * v
		}
	}
	return out
}

// kthNeighbour is each row's squared distance to its k-th nearest other
// row.
func kthNeighbour(f Features, k int) []float64 {
	out := make([]float64, f.N)
	squaredDistances(f, f, func(lo int, d *mat.Dense) {
		r, _ := d.Dims()
		row := make([]float64, f.N)
		for i := range r {
			mat.Row(row, i, d)
			row[lo+i] = math.Inf(1) // not its own neighbour
			slices.Sort(row)
			out[lo+i] = row[min(k, f.N-1)-1]
		}
	})
	return out
}

// covered is the fraction of a's rows within radius² of some row of b.
func covered(a, b Features, radius2 []float64) float64 {
	n := 0
	squaredDistances(a, b, func(_ int, d *mat.Dense) {
		r, c := d.Dims()
		for i := range r {
			for j := range c {
				if d.At(i, j) <= radius2[j] {
					n++
					break
				}
			}
		}
	})
	return float64(n) / float64(a.N)
}

// Classes are what a classifier says of a set of images: the mean
// p(y|x) and the count of each predicted class, from their logits.
type Classes struct {
	IS        float64 // exp E_x KL(p(y|x) ‖ p(y)), the Inception score's analogue
	Histogram []int   // how many images each class is the most probable of
}

// Classify computes IS and the histogram from n rows of k logits.
func Classify(logits []float32, k int) Classes {
	n := len(logits) / k
	c := Classes{Histogram: make([]int, k)}
	probs := make([]float64, n*k)
	marginal := make([]float64, k)
	for i := range n {
		row, p := logits[i*k:(i+1)*k], probs[i*k:(i+1)*k]
		top := slices.Max(row)
		sum := 0.0
		for j, l := range row {
			p[j] = math.Exp(float64(l - top))
			sum += p[j]
		}
		for j := range p {
			p[j] /= sum
			marginal[j] += p[j] / float64(n)
		}
		c.Histogram[slices.Index(row, top)]++
	}
	kl := 0.0
	for i := range n {
		for j, p := range probs[i*k : (i+1)*k] {
			if p > 0 {
				kl += p * math.Log(p/marginal[j])
			}
		}
	}
	c.IS = math.Exp(kl / float64(n))
	return c
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
