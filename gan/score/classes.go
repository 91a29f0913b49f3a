package score

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
)

// ClassScore is how a generator draws each class of labelled reference
// data, by the reference's classifier: for a class-conditional generator,
// the images drawn for each class; for an unconditional one, the images
// the classifier puts in each class.
type ClassScore struct {
	Conditional bool          `json:"conditional"`
	N           int           `json:"n"`
	Classes     []ClassResult `json:"classes"`
	// Accuracy is a conditional generator's share of images the
	// classifier puts in the class they were drawn for, the mean of the
	// classes' (nil for an unconditional one).
	Accuracy   *float64 `json:"accuracy,omitempty"`
	FD         float64  `json:"fd"`                  // every image against every reference image
	MeanFD     float64  `json:"mean_fd"`             // the classes' FDs, averaged
	Classifier float64  `json:"classifier_accuracy"` // the classifier's own, on held-out reference images
}

// ClassResult is one class's part of a ClassScore.
type ClassResult struct {
	Class int    `json:"class"`
	Name  string `json:"name"`
	N     int    `json:"n"` // images drawn for the class, or put in it
	// Accuracy is the share of a conditional generator's images drawn for
	// the class that the classifier puts in it (nil for an unconditional
	// one).
	Accuracy *float64 `json:"accuracy,omitempty"`
	FD       float64  `json:"fd"` // against the reference images of the class; 0 with fewer than two images
}

// ScoreClasses draws n images from s (for a conditional generator, each
// class's share of the reference's images, every class from the same
// z's) and scores each
// class, named by names, against ds's images of it, whose features it
// computes (ds must be the reference's data, with its labels).
func (r *Reference) ScoreClasses(s *gan.Sampler, ds *data.Dataset, names []string, n int, seed uint64) (ClassScore, error) {
	k := r.Classes
	switch {
	case k == 0 || ds.Labels == nil:
		return ClassScore{}, fmt.Errorf("score: a per-class score needs labelled reference data (its classifier)")
	case s.Model.Conditional() && s.Model.Classes != k:
		return ClassScore{}, fmt.Errorf("score: the generator draws %d classes, the reference data has %d", s.Model.Classes, k)
	}
	if err := r.fits(s); err != nil {
		return ClassScore{}, err
	}
	refs, err := r.classStats(ds)
	if err != nil {
		return ClassScore{}, err
	}
	out := ClassScore{Conditional: s.Model.Conditional(), Classes: make([]ClassResult, k), Classifier: r.Accuracy}
	groups := make([]Features, k)
	var all Features
	total := 0.0 // a conditional generator's accuracy
	if out.Conditional {
		counts := make([]int, k)
		for _, l := range ds.Labels {
			counts[l]++
		}
		for c := range k {
			// The classes in the reference's proportions, so that the
			// whole is comparable with an unconditional generator's FD.
			per := max(int(math.Round(float64(n)*float64(counts[c])/float64(len(ds.Labels)))), 2)
			if err := s.SetClass(uint32(c)); err != nil {
				return out, err
			}
			f, logits, err := features(r.Net, per, sampled(s, seed))
			if err != nil {
				return out, err
			}
			right := 0
			for _, p := range predicted(logits, k) {
				if p == c {
					right++
				}
			}
			groups[c], all = f, joined(all, f)
			share := float64(right) / float64(per)
			out.Classes[c].Accuracy = &share
			total += share / float64(k)
		}
		out.Accuracy = &total
	} else {
		f, logits, err := features(r.Net, n, sampled(s, seed))
		if err != nil {
			return out, err
		}
		all = f
		for i, p := range predicted(logits, k) {
			groups[p] = joined(groups[p], Features{N: 1, Dim: f.Dim, V: f.row(i)})
		}
	}
	out.N = all.N
	if out.FD, err = FD(Fit(all), r.Stats); err != nil {
		return out, err
	}
	for c := range k {
		res := &out.Classes[c]
		res.Class, res.Name, res.N = c, fmt.Sprint(c), groups[c].N
		if c < len(names) {
			res.Name = names[c]
		}
		if groups[c].N >= 2 {
			if res.FD, err = FD(Fit(groups[c]), refs[c]); err != nil {
				return out, err
			}
		}
		out.MeanFD += res.FD / float64(k)
	}
	return out, nil
}

// classStats fits the features of each class's reference images.
func (r *Reference) classStats(ds *data.Dataset) ([]Gaussian, error) {
	all, _, err := features(r.Net, ds.N, func(i int, dst []float32) error { return ds.Image(i, dst) })
	if err != nil {
		return nil, err
	}
	groups := make([]Features, r.Classes)
	for i, l := range ds.Labels {
		groups[l] = joined(groups[l], Features{N: 1, Dim: all.Dim, V: all.row(i)})
	}
	out := make([]Gaussian, r.Classes)
	for c, g := range groups {
		if g.N < 2 {
			return nil, fmt.Errorf("score: class %d of the reference data has %d images; a per-class score needs at least two of each", c, g.N)
		}
		out[c] = Fit(g)
	}
	return out, nil
}

// predicted is each row's most probable class of n rows of k logits.
func predicted(logits []float32, k int) []int {
	out := make([]int, len(logits)/k)
	for i := range out {
		row := logits[i*k : (i+1)*k]
		out[i] = slices.Index(row, slices.Max(row))
	}
	return out
}

// joined is a's rows then b's.
func joined(a, b Features) Features {
	return Features{N: a.N + b.N, Dim: b.Dim, V: append(a.V, b.V...)}
}

// Write prints the per-class score as a table.
func (c ClassScore) Write(w io.Writer) {
	what := "images the classifier puts in the class"
	if c.Conditional {
		what = "images drawn for the class, and the share the classifier puts in it"
	}
	fmt.Fprintf(w, "per class: %s; FD against the class's reference images (classifier held-out accuracy %.3f)\n", what, c.Classifier)
	fmt.Fprintf(w, "%-5s %-14s %6s %9s %9s\n", "class", "name", "images", "accuracy", "FD")
	acc := func(a *float64) string {
		if a == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *a)
	}
	for _, r := range c.Classes {
		fmt.Fprintf(w, "%-5d %-14s %6d %9s %9.3f\n", r.Class, r.Name, r.N, acc(r.Accuracy), r.FD)
	}
	fmt.Fprintf(w, "%-5s %-14s %6d %9s %9.3f (the classes' mean FD %.3f)\n", "all", "", c.N, acc(c.Accuracy), c.FD, c.MeanFD)
}
