package run

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// TestLearns trains a narrow dcgan28 on 2048 Fashion-MNIST images for 200
// steps and checks what must hold when learning works: the discriminator's
// verdicts leave 0.5, the samples are not constant and their brightness
// moves most of the way from the untrained generator's to the data's.
func TestLearns(t *testing.T) {
	n, rows, cols, pix, err := data.ReadIDX(filepath.Join(data.Default, "train-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatalf("%v (./build.sh installs dataset-fashion-mnist)", err)
	}
	const keep = 2048
	if n < keep {
		t.Fatalf("Fashion-MNIST has %d images", n)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "fashion-2048.idx")
	head := []byte{0, 0, 8, 3, 0, 0, keep >> 8, keep & 0xff, 0, 0, 0, byte(rows), 0, 0, 0, byte(cols)}
	if err := os.WriteFile(data, append(head, pix[:keep*rows*cols]...), 0o644); err != nil {
		t.Fatal(err)
	}
	var realMean float64
	for _, p := range pix[:keep*rows*cols] {
		realMean += float64(p)/127.5 - 1
	}
	realMean /= float64(keep * rows * cols)

	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	cfg.Model.Z, cfg.Model.GF, cfg.Model.DF, cfg.Batch = 100, 16, 16, 32
	r := &Run{Dir: filepath.Join(dir, "run"), Config: Config{Train: cfg, Data: data, Steps: 200, Keep: 1}}
	if _, err := r.Train(context.Background(), d, false); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(r.metricsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dx, dgz float64 // the largest distance from 0.5
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		dx, dgz = math.Max(dx, math.Abs(float64(m.DX)-0.5)), math.Max(dgz, math.Abs(float64(m.DGZ)-0.5))
	}
	if dx < 0.05 || dgz < 0.02 {
		t.Errorf("D(x) and D(G(z)) stayed near 0.5 (at most %.3f and %.3f away)", dx, dgz)
	}

	untrained, err := gan.NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer untrained.Close()
	before := sampleStats(t, func(n int) (*gan.Sampler, error) { return untrained.NewSampler(n, gan.RawWeights) })
	c, err := NewestCheckpoint(r.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadGenerator(d, c, gan.DefaultWeights)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	after := sampleStats(t, func(n int) (*gan.Sampler, error) { return g.NewSampler(d, n, cfg.Seed, false) })
	t.Logf("mean brightness: data %.3f, untrained %.3f, trained %.3f; spread across samples %.3f", realMean, before.mean, after.mean, after.spread)
	if after.spread < 0.05 {
		t.Errorf("the samples are nearly the same image (spread %.3f)", after.spread)
	}
	if math.Abs(after.mean-realMean) > 0.5*math.Abs(before.mean-realMean) {
		t.Errorf("the samples' mean %.3f did not move most of the way from %.3f to the data's %.3f", after.mean, before.mean, realMean)
	}
}

type imageStats struct{ mean, spread float64 }

// sampleStats draws 64 images and returns their mean value and the mean
// over pixels of the standard deviation across images.
func sampleStats(t *testing.T, newSampler func(n int) (*gan.Sampler, error)) imageStats {
	s, err := newSampler(64)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	imgs, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range imgs {
		if v-v != 0 {
			t.Fatal("the samples hold NaN or infinite values")
		}
	}
	size := s.C * s.S * s.S
	var st imageStats
	for p := 0; p < size; p++ {
		var sum, sq float64
		for i := 0; i < s.N; i++ {
			v := float64(imgs[i*size+p])
			sum += v
			sq += v * v
		}
		m := sum / float64(s.N)
		st.mean += m
		st.spread += math.Sqrt(math.Max(0, sq/float64(s.N)-m*m))
	}
	st.mean /= float64(size)
	st.spread /= float64(size)
	return st
}
