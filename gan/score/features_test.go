package score

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// quadrants is a batch of n 1×16×16 images in [-1, 1], each bright in the
// quadrant its class names, with noise, and the classes.
func quadrants(r *rand.Rand, n int) ([]float32, []int32) {
	const s = 16
	img := make([]float32, n*s*s)
	labels := make([]int32, n)
	for b := range n {
		c := r.Intn(4)
		labels[b] = int32(c)
		for y := range s {
			for x := range s {
				v := -0.8 + 0.3*r.NormFloat64()
				if (y >= s/2) == (c >= 2) && (x >= s/2) == (c%2 == 1) {
					v += 1.2
				}
				img[b*s*s+y*s+x] = float32(v)
			}
		}
	}
	return img, labels
}

// The classifier learns a task a few dozen steps can learn, on the
// device with softmax cross-entropy and Adam, and its features survive a
// round trip through its state.
func TestFeatureNetLearns(t *testing.T) {
	d := vktest.Open(t)
	cfg := FeatureConfig{Channels: 1, Size: 16, Classes: 4, Batch: 32, Seed: 1}
	f, err := NewFeatureNet(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewSource(1))
	var first, last float32
	for step := range 40 {
		img, labels := quadrants(r, cfg.Batch)
		loss, _, err := f.Train(img, labels)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	img, labels := quadrants(r, cfg.Batch)
	feats, logits, err := f.Features(img)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for b, l := range labels {
		row := logits[b*4 : (b+1)*4]
		if slices.Index(row, slices.Max(row)) == int(l) {
			right++
		}
	}
	t.Logf("loss %.3f → %.3f; held-out accuracy %d/%d", first, last, right, cfg.Batch)
	if right < cfg.Batch*9/10 || last > first/2 {
		t.Errorf("the classifier did not learn: loss %.3f → %.3f, %d of %d right", first, last, right, cfg.Batch)
	}
	if len(feats) != cfg.Batch*FeatureDim || !nn.Finite(feats) {
		t.Fatalf("%d features, want %d finite ones", len(feats), cfg.Batch*FeatureDim)
	}
	state, err := f.State()
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewFeatureNet(d, FeatureConfig{Channels: 1, Size: 16, Classes: 4, Batch: 32, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Load(nn.Tensors(state)); err != nil {
		t.Fatal(err)
	}
	again, _, err := g.Features(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(feats, again) {
		t.Error("the loaded network's features differ")
	}
	if _, _, err := f.Train(img, append(labels[:cfg.Batch-1:cfg.Batch-1], 4)); err == nil {
		t.Error("a label outside the classes: no error")
	}
}

// The random network's batch norms take the data's statistics, so its
// features do not depend on the scale of the weights' draw.
func TestFeatureNetRandom(t *testing.T) {
	d := vktest.Open(t)
	f, err := NewFeatureNet(d, FeatureConfig{Channels: 1, Size: 16, Batch: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewSource(3))
	if err := f.Calibrate(3, func(dst []float32) error { img, _ := quadrants(r, 32); copy(dst, img); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, rs := range f.p.Running {
		if rs == nil {
			continue
		}
		v, _ := nn.ReadFloats(rs, 2*f.p.Spec.Layers[i].K)
		if v[0] == 0 || v[len(v)-1] == 1 || !nn.Finite(v) {
			t.Errorf("layer %d: running statistics %v… were not calibrated", i, v[:2])
		}
	}
	img, _ := quadrants(r, 32)
	feats, logits, err := f.Features(img)
	if err != nil || logits != nil || len(feats) != 32*FeatureDim || !nn.Finite(feats) {
		t.Fatalf("features: %d, logits %v, %v", len(feats), logits != nil, err)
	}
	if _, _, err := f.Train(img, make([]int32, 32)); err == nil {
		t.Error("training the random network: no error")
	}
}
