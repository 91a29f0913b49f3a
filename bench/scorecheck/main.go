// Command scorecheck validates gan-vk's score on real data: it scores the
// test set of an MNIST-style data set, and damaged versions of it, against
// the training set, and prints a Markdown table (docs/scoring.md's). FD must
// order the sets as their damage orders them, and the class histogram must
// show classes that were dropped.
//
//	go run ./bench/scorecheck [-data /usr/share/datasets/fashion-mnist] [-cache DIR]
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/score"
	"github.com/gan-vk/gan-vk/vk"
)

func main() {
	dir := flag.String("data", data.Default, "an MNIST-style folder with train- and t10k- images and labels")
	cache := flag.String("cache", filepath.Join(os.TempDir(), "gan-vk-scorecheck"), "the score's cache folder")
	flag.Parse()
	if err := run(*dir, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "scorecheck:", err)
		os.Exit(1)
	}
}

// set is one row of the table: n images that fill gives.
type set struct {
	name string
	n    int
	fill func(i int, dst []float32) error
}

func run(dir, cache string) error {
	d, err := vk.Open(vk.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	train, err := data.Open(data.Options{Path: dir, Size: 28, Labels: true, Log: logf})
	if err != nil {
		return err
	}
	defer train.Close()
	ref, err := score.OpenReference(d, train, score.Options{CacheDir: cache, Log: logf})
	if err != nil {
		return err
	}
	defer ref.Close()
	test, err := data.Open(data.Options{Path: testImages(dir), Size: 28, Labels: true, Log: logf})
	if err != nil {
		return err
	}
	defer test.Close()
	fmt.Printf("Reference: the %d training images of %s; classifier held-out accuracy %.3f.\n\n", ref.Images, dir, ref.Accuracy)
	fmt.Println("| images | N | FD | KID (± spread) | precision | recall | IS | classes present (≥ 1 %) | seconds |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, s := range sets(test) {
		start := time.Now()
		res, err := ref.Score(s.n, s.fill)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		present := 0
		for _, c := range res.Histogram {
			if c*100 >= res.N {
				present++
			}
		}
		fmt.Printf("| %s | %d | %.3f | %.4f ± %.4f | %.3f | %.3f | %.2f | %d of %d: %s | %.0f |\n", s.name, res.N, res.FD, res.KID, res.KIDSpread,
			res.Precision, res.Recall, res.IS, present, len(res.Histogram), shares(res.Histogram, res.N), time.Since(start).Seconds())
	}
	return nil
}

// testImages is the folder's test-set images file.
func testImages(dir string) string {
	for _, name := range []string{"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return filepath.Join(dir, "t10k-images-idx3-ubyte")
}

func shares(h []int, n int) string {
	parts := make([]string, len(h))
	for i, c := range h {
		parts[i] = fmt.Sprintf("%.0f", 100*float64(c)/float64(n))
	}
	return strings.Join(parts, " ")
}

// sets are the rows: the test set at several N (the floor and how it
// depends on N), uniform noise (the ceiling), the test set blurred, with
// Gaussian noise, and with only three classes (mode dropping).
func sets(test *data.Dataset) []set {
	clean := func(i int, dst []float32) error { return test.Image(i, dst) }
	var out []set
	for _, n := range []int{1000, 2000, 5000, 10000} {
		out = append(out, set{"test set", n, clean})
	}
	out = append(out,
		set{"uniform noise", 10000, func(i int, dst []float32) error {
			r := rand.New(rand.NewSource(int64(i)))
			for j := range dst {
				dst[j] = float32(2*r.Float64() - 1)
			}
			return nil
		}},
		set{"test set, blurred σ 1", 10000, blurred(test, 1)},
		set{"test set, blurred σ 2", 10000, blurred(test, 2)},
		set{"test set + Gaussian noise σ 0.1", 10000, noisy(test, 0.1)},
		set{"test set + Gaussian noise σ 0.3", 10000, noisy(test, 0.3)})
	var few []int // the test images of classes 0, 1 and 2
	for i, l := range test.Labels {
		if l < 3 {
			few = append(few, i)
		}
	}
	out = append(out, set{"test set, classes 0–2 only", len(few), func(i int, dst []float32) error { return test.Image(few[i], dst) }})
	return out
}

// noisy adds N(0, σ²) to every pixel (in [-1, 1] units), clipped.
func noisy(ds *data.Dataset, sigma float64) func(int, []float32) error {
	return func(i int, dst []float32) error {
		if err := ds.Image(i, dst); err != nil {
			return err
		}
		r := rand.New(rand.NewSource(int64(i) + 1<<32))
		for j, v := range dst {
			dst[j] = float32(max(-1, min(1, float64(v)+sigma*r.NormFloat64())))
		}
		return nil
	}
}

// blurred convolves each image with a Gaussian of σ pixels (separable,
// radius 3σ, edges clamped).
func blurred(ds *data.Dataset, sigma float64) func(int, []float32) error {
	radius := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*radius+1)
	sum := 0.0
	for i := range k {
		x := float64(i - radius)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	side := ds.S
	return func(i int, dst []float32) error {
		if err := ds.Image(i, dst); err != nil {
			return err
		}
		for c := 0; c < ds.C; c++ {
			plane := dst[c*side*side : (c+1)*side*side]
			tmp := make([]float64, len(plane))
			for y := range side {
				for x := range side {
					v := 0.0
					for j, w := range k {
						xx := min(side-1, max(0, x+j-radius))
						v += w * float64(plane[y*side+xx])
					}
					tmp[y*side+x] = v
				}
			}
			for y := range side {
				for x := range side {
					v := 0.0
					for j, w := range k {
						yy := min(side-1, max(0, y+j-radius))
						v += w * tmp[yy*side+x]
					}
					plane[y*side+x] = float32(v)
				}
			}
		}
		return nil
	}
}
