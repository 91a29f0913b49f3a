package score

import (
	"fmt"
	"io"
	"strings"

	"github.com/gan-vk/gan-vk/gan"
)

// The sample sizes the metrics need: below MinSamples a score is refused;
// below WarnSamples it is given with a warning (FD's bias grows as 1/N, so
// scores are comparable only at the same N).
const (
	MinSamples  = 200
	WarnSamples = 2000
)

// The metrics' settings, StyleGAN2-ADA's for KID and Kynkäänniemi et al.'s
// for precision and recall, with the sizes a CPU can afford.
const (
	kidSubsets    = 10
	kidSubsetSize = 1000
	prNeighbours  = 3
	prSize        = 5000 // samples of each set precision and recall compare
)

// Result is the score of a set of images against a reference.
type Result struct {
	N         int     `json:"n"`
	FD        float64 `json:"fd"`
	KID       float64 `json:"kid"`
	KIDSpread float64 `json:"kid_std"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// With a classifier: the Inception score's analogue, the samples'
	// class histogram (the most probable class of each) and the reference
	// data's, and the classifier's held-out accuracy.
	IS             float64 `json:"is,omitempty"`
	Histogram      []int   `json:"histogram,omitempty"`
	ReferenceHist  []int   `json:"reference_histogram,omitempty"`
	Accuracy       float64 `json:"classifier_accuracy,omitempty"`
	Features       string  `json:"features"` // "classifier" or "random"
	ReferenceCount int     `json:"reference_images"`
	Reference      string  `json:"reference"`
}

// Score scores n images, which fill gives one at a time as floats in
// [-1, 1], CHW, at the reference's size and channels.
func (r *Reference) Score(n int, fill func(i int, dst []float32) error) (Result, error) {
	if n < MinSamples {
		return Result{}, fmt.Errorf("score: %d images are too few to score; give at least %d (%d or more for a stable FD)", n, MinSamples, WarnSamples)
	}
	feats, logits, err := features(r.Net, n, fill)
	if err != nil {
		return Result{}, err
	}
	return r.ScoreFeatures(feats, logits)
}

// ScoreFeatures scores images from their features and logits.
func (r *Reference) ScoreFeatures(feats Features, logits []float32) (Result, error) {
	res := Result{N: feats.N, Features: "random", ReferenceCount: r.Images, Reference: r.Source}
	fd, err := FD(Fit(feats), r.Stats)
	if err != nil {
		return res, err
	}
	res.FD = fd
	res.KID, res.KIDSpread = KID(feats, r.Features, kidSubsets, kidSubsetSize, 3)
	ref, gen := r.Features, feats
	if ref.N > prSize || gen.N > prSize {
		ref, gen = ref.subset(prSize, newRand(4)), gen.subset(prSize, newRand(5))
	}
	res.Precision, res.Recall = PrecisionRecall(ref, gen, prNeighbours)
	if r.Classes > 0 {
		c := Classify(logits, r.Classes)
		res.Features, res.IS, res.Histogram, res.ReferenceHist, res.Accuracy = "classifier", c.IS, c.Histogram, r.Labels, r.Accuracy
	}
	return res, nil
}

// Write prints the result one metric a line.
func (res Result) Write(w io.Writer) {
	fmt.Fprintf(w, "images     %d, against %d reference images of %s\n", res.N, res.ReferenceCount, res.Reference)
	if res.Features == "classifier" {
		fmt.Fprintf(w, "features   the penultimate layer of a classifier gan-vk trained on the reference (held-out accuracy %.3f)\n", res.Accuracy)
	} else {
		fmt.Fprintf(w, "features   a network with fixed random weights: FD and KID compare only between runs on the same data at the same size\n")
	}
	fmt.Fprintf(w, "FD         %.3f\n", res.FD)
	fmt.Fprintf(w, "KID        %.5f ± %.5f (over %d subsets of %d)\n", res.KID, res.KIDSpread, kidSubsets, min(kidSubsetSize, res.N, res.ReferenceCount))
	fmt.Fprintf(w, "precision  %.3f\n", res.Precision)
	fmt.Fprintf(w, "recall     %.3f\n", res.Recall)
	if res.Features == "classifier" {
		fmt.Fprintf(w, "IS         %.3f (of at most %d classes)\n", res.IS, len(res.Histogram))
		fmt.Fprintf(w, "classes    %s\n", histogram(res.Histogram, res.N))
		fmt.Fprintf(w, "reference  %s\n", histogram(res.ReferenceHist, sum(res.ReferenceHist)))
	}
	if res.N < WarnSamples {
		fmt.Fprintf(w, "warning    %d images: FD is biased upwards at small N; compare scores at the same --n (%d or more)\n", res.N, WarnSamples)
	}
}

// histogram shows each class's share in per cent.
func histogram(h []int, n int) string {
	parts := make([]string, len(h))
	for i, c := range h {
		parts[i] = fmt.Sprintf("%d:%.1f%%", i, 100*float64(c)/float64(max(n, 1)))
	}
	return strings.Join(parts, " ")
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// Sampled scores n images that a sampler of a generator draws, a batch per
// draw of seed, starting at draw 0.
func (r *Reference) Sampled(s *gan.Sampler, n int, seed uint64) (Result, error) {
	if err := r.fits(s); err != nil {
		return Result{}, err
	}
	return r.Score(n, sampled(s, seed))
}

// fits refuses a sampler whose images are not the reference's size.
func (r *Reference) fits(s *gan.Sampler) error {
	if s.C != r.Net.Config.Channels || s.S != r.Net.Config.Size {
		return fmt.Errorf("score: the generator draws %d×%d×%d images, the reference is %d×%d×%d",
			s.C, s.S, s.S, r.Net.Config.Channels, r.Net.Config.Size, r.Net.Config.Size)
	}
	return nil
}

// sampled gives image i of s's draws 0, 1, … of seed, N at a time, for
// features' fill.
func sampled(s *gan.Sampler, seed uint64) func(i int, dst []float32) error {
	size := s.C * s.S * s.S
	var batch []float32
	drawn := -1
	return func(i int, dst []float32) error {
		if k := i / s.N; k != drawn {
			if err := s.Redraw(seed, uint32(k)); err != nil {
				return err
			}
			var err error
			if batch, err = s.Images(); err != nil {
				return err
			}
			drawn = k
		}
		j := i % s.N
		copy(dst, batch[j*size:(j+1)*size])
		return nil
	}
}
