package layers_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// The augmentation on the device is the reference's, values and
// gradients, drawn as the reference draws: one and three channels, square
// and not, every transform and each alone, p 1 and ½, from a rank's first
// row. Over the cases the draws reach the ends of the shift and cutout
// ranges (the reference's own test holds the edges' arithmetic).
func TestAugment(t *testing.T) {
	d := vktest.Open(t)
	const seed, step = 11, 9
	clock, err := layers.NewClock(d, "augment", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	if err := clock.Set(seed, step); err != nil {
		t.Fatal(err)
	}
	all := layers.Color | layers.Translation | layers.Cutout
	r := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		n, c, h, w, first, stream int
		ops                       layers.AugmentOps
		p                         float32
	}{
		{40, 1, 28, 28, 0, 0, all, 1},
		{4, 3, 64, 64, 0, 2, layers.Translation, 0.7},
		{33, 3, 16, 16, 64, 2, all, 0.5},
		{21, 3, 9, 7, 5, 1, all, 1},
		{8, 3, 8, 8, 0, 0, layers.Color, 1},
		{8, 3, 8, 8, 0, 0, layers.Translation, 1},
		{8, 3, 8, 8, 0, 0, layers.Cutout, 1},
		{8, 3, 8, 8, 0, 0, all, 0},
	} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d %s p%g", c.n, c.c, c.h, c.w, c.ops, c.p), func(t *testing.T) {
			l, err := layers.NewAugment(d, layers.AugmentConfig{N: c.n, C: c.c, H: c.h, W: c.w, Ops: c.ops, Stream: c.stream, First: c.first})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			count := c.n * c.c * c.h * c.w
			x, dy := rnd(r, count, 1), rnd(r, count, 1)
			bx, bdy, by, bdx := upload(t, d, "x", x), upload(t, d, "dy", dy), alloc(t, d, "y", count), alloc(t, d, "dx", count)
			bp := upload(t, d, "p", []float64{float64(c.p)})
			run(t, d, func(s *vk.Sequence) {
				l.Forward(s, by, bx, clock, bp)
				l.Backward(s, bdx, bdy, clock, bp)
			})
			draws := make([]ref.AugmentDraw, c.n)
			for i := range draws {
				draws[i] = ref.DrawAugment(uint32(c.ops), c.p, c.h, c.w, seed, step, uint32(c.stream), c.first+i)
			}
			expect(t, "y", by, ref.Augment(x, c.n, c.c, c.h, c.w, draws), ref.Sum)
			expect(t, "dx", bdx, ref.AugmentBackward(dy, c.n, c.c, c.h, c.w, draws), ref.Sum)
		})
	}
}

// Mirror flips the images its coins say, in place, for a rank's rows as
// for the whole batch.
func TestMirror(t *testing.T) {
	d := vktest.Open(t)
	const n, c, h, w, seed, step, stream, first = 30, 3, 5, 7, 4, 12, 3, 16
	clock, err := layers.NewClock(d, "mirror", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	if err := clock.Set(seed, step); err != nil {
		t.Fatal(err)
	}
	l, err := layers.NewMirror(d, n, c, h, w, stream, first)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	x := rnd(rand.New(rand.NewSource(4)), n*c*h*w, 1)
	bx := upload(t, d, "x", x)
	run(t, d, func(s *vk.Sequence) { l.Forward(s, bx, clock) })
	want := ref.Mirror(x, n, c, h, w, seed, step, stream, first)
	expect(t, "x", bx, want, ref.Exact)
	flipped := 0
	for s := range n {
		if want[s*c*h*w] != x[s*c*h*w] {
			flipped++
		}
	}
	if flipped == 0 || flipped == n {
		t.Errorf("%d of %d images flipped; a fair coin flips some and not all", flipped, n)
	}
}
