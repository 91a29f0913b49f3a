package score

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

func openData(t *testing.T, path string) *data.Dataset {
	t.Helper()
	ds, err := data.Open(data.Options{Path: path, Size: 28, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// A labelled reference trains its classifier, caches it, and reads it back;
// fresh images of the same data score better than images of fewer classes,
// whose histogram shows the dropped ones, and better than noise.
func TestReference(t *testing.T) {
	d := vktest.Open(t)
	dir := t.TempDir()
	ref := openData(t, gantest.LabelledIDX(t, filepath.Join(dir, "ref"), 1000, 1))
	var logs []string
	opt := Options{CacheDir: filepath.Join(dir, "cache"), Log: func(f string, a ...any) { logs = append(logs, f) }}
	r, err := OpenReference(d, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Classes != 4 || r.Cache == "" || r.Accuracy < 0.9 {
		t.Fatalf("classes %d, cache %q, held-out accuracy %.3f", r.Classes, r.Cache, r.Accuracy)
	}
	fresh := openData(t, gantest.LabelledIDX(t, filepath.Join(dir, "fresh"), 400, 2))
	dropped := openData(t, gantest.LabelledIDX(t, filepath.Join(dir, "dropped"), 400, 3, 0, 1))
	good, err := r.Score(fresh.N, fresh.Image)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r.Score(dropped.N, dropped.Image)
	if err != nil {
		t.Fatal(err)
	}
	noise, err := r.Score(400, func(i int, dst []float32) error {
		rn := rand.New(rand.NewSource(int64(i)))
		for j := range dst {
			dst[j] = float32(2*rn.Float64() - 1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FD fresh %.3f, two classes %.3f, noise %.3f; IS %.2f, %.2f; histograms %v, %v", good.FD, bad.FD, noise.FD, good.IS, bad.IS, good.Histogram, bad.Histogram)
	if !(good.FD < bad.FD && bad.FD < noise.FD) || !(good.KID < bad.KID) || good.IS <= bad.IS {
		t.Errorf("the scores do not order the damage: FD %.3f, %.3f, %.3f; KID %.4f, %.4f; IS %.2f, %.2f", good.FD, bad.FD, noise.FD, good.KID, bad.KID, good.IS, bad.IS)
	}
	if bad.Histogram[2]+bad.Histogram[3] > bad.N/20 || good.Histogram[3] < good.N/8 {
		t.Errorf("histograms %v (classes 0 and 1 only) and %v (all four)", bad.Histogram, good.Histogram)
	}
	if bad.Recall >= good.Recall {
		t.Errorf("recall %.3f of two classes, %.3f of all four", bad.Recall, good.Recall)
	}

	// From the cache: the same network, the same score.
	logs = nil
	again, err := OpenReference(d, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !strings.Contains(strings.Join(logs, "\n"), "from %s") {
		t.Errorf("the second open did not read the cache: %q", logs)
	}
	if res, err := again.Score(fresh.N, fresh.Image); err != nil || res.FD != good.FD {
		t.Errorf("from the cache: FD %v (%v), want %v", res.FD, err, good.FD)
	}
	// A damaged cache is rebuilt.
	if err := os.Truncate(r.Cache, 1000); err != nil {
		t.Fatal(err)
	}
	logs = nil
	rebuilt, err := OpenReference(d, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt.Close()
	if !strings.Contains(strings.Join(logs, "\n"), "rebuilding") {
		t.Errorf("a truncated cache was not rebuilt: %q", logs)
	}
	if _, err := r.Score(MinSamples-1, fresh.Image); err == nil || !strings.Contains(err.Error(), "too few") {
		t.Errorf("%d images: %v", MinSamples-1, err)
	}
}

// Unlabelled data gets the random-weight network.
func TestReferenceUnlabelled(t *testing.T) {
	d := vktest.Open(t)
	dir := t.TempDir()
	path := gantest.LabelledIDX(t, dir, 600, 1)
	if err := os.Remove(filepath.Join(dir, "train-labels-idx1-ubyte")); err != nil {
		t.Fatal(err)
	}
	ds := openData(t, path)
	r, err := OpenReference(d, ds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Score(ds.N, ds.Image)
	if err != nil {
		t.Fatal(err)
	}
	if r.Classes != 0 || res.Features != "random" || res.Histogram != nil || math.Abs(res.FD) > 1e-3 {
		t.Errorf("classes %d, features %q, histogram %v, FD of the data with itself %g", r.Classes, res.Features, res.Histogram, res.FD)
	}
	var b strings.Builder
	res.Write(&b)
	if !strings.Contains(b.String(), "compare only between runs on the same data") {
		t.Errorf("the output does not say what the random features allow:\n%s", b.String())
	}
}

// Labels that do not belong to the images are refused.
func TestLabelsMismatch(t *testing.T) {
	dir := t.TempDir()
	path := gantest.LabelledIDX(t, dir, 300, 1)
	var lab bytes.Buffer
	binary.Write(&lab, binary.BigEndian, []uint32{0x801, 299})
	lab.Write(make([]byte, 299))
	gantest.WriteFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), lab.Bytes())
	_, err := data.Open(data.Options{Path: path, Size: 28, Labels: true})
	if err == nil || !strings.Contains(err.Error(), "299 labels for the 300 images") {
		t.Errorf("299 labels for 300 images: %v", err)
	}
}
