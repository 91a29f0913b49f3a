package layers_test

import (
	"math"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// The peak kernel computes what it says (so its FLOPs are real), and the
// rates the bench's roofline takes are positive.
func TestPeak(t *testing.T) {
	d := vktest.Open(t)
	const count, iter = 100, 50
	p, err := layers.NewPeak(d, count, iter)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	run(t, d, p.Record)
	want := make([]float64, count)
	for i := range want {
		for j := range 8 {
			a := float32(i%7+j) / 64
			for range iter {
				a = float32(math.FMA(float64(a), float64(float32(0.999)), float64(float32(0.001))))
			}
			want[i] += float64(a)
		}
	}
	expect(t, "sums", p.Out(), want, ref.Sum)
	if p.FLOPs() != 16*iter*count {
		t.Errorf("FLOPs %g", p.FLOPs())
	}
	for name, f := range map[string]func(*vk.Device) (float64, error){"peak": layers.PeakFLOPs, "bandwidth": layers.Bandwidth} {
		if v, err := f(d); err != nil || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s: %g, %v", name, v, err)
		}
	}
}
