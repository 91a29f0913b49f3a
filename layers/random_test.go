package layers_test

import (
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

func TestClock(t *testing.T) {
	d := vktest.Open(t)
	c, err := layers.NewClock(d, "test", 0x1234_5678_9abc_def0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := d.NewSequence("ticks")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Tick(s)
	c.Tick(s)
	for i := 0; i < 3; i++ { // a recording replays: the step moves on each time
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
	}
	seed, step, err := c.Read()
	if err != nil || seed != 0x1234_5678_9abc_def0 || step != 6 {
		t.Errorf("after 3 runs of 2 ticks: seed %#x step %d (%v), want seed 0x123456789abcdef0 step 6", seed, step, err)
	}
}

// Normal draws on the device are the reference's draws, depend only on
// (seed, step, stream), and differ between steps and streams.
func TestNormal(t *testing.T) {
	d := vktest.Open(t)
	const n, seed = 64*100 + 3, 77
	clock, err := layers.NewClock(d, "z", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	var draws [][]float64
	for _, c := range []struct{ step, stream uint32 }{{5, 0}, {5, 0}, {6, 0}, {5, 1}} {
		z, err := layers.NewNormal(d, n, int(c.stream))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		if err := clock.Set(seed, c.step); err != nil {
			t.Fatal(err)
		}
		bz := alloc(t, d, "z", n)
		run(t, d, func(s *vk.Sequence) { z.Draw(s, bz, clock) })
		// sin, cos and log on the device are not correctly rounded.
		expect(t, "z", bz, ref.Normal(n, seed, c.step, c.stream), ref.Transcendental)
		draws = append(draws, download(t, bz, n))
	}
	if err := ref.Exact.Check(draws[1], draws[0]); err != nil {
		t.Errorf("the same (seed, step, stream) drew different values: %v", err)
	}
	if draws[2][0] == draws[0][0] || draws[3][0] == draws[0][0] {
		t.Errorf("another step or stream drew the same first value %g", draws[0][0])
	}
}

func TestDropout(t *testing.T) {
	d := vktest.Open(t)
	const n, seed, step, stream, p = 10001, 5, 3, 2, float32(0.3)
	l, err := layers.NewDropout(d, n, p, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clock, err := layers.NewClock(d, "dropout", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	if err := clock.Set(seed, step); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(5))
	x, dy := rnd(r, n, 1), rnd(r, n, 1)
	bx, bdy, by, bdx := upload(t, d, "x", x), upload(t, d, "dy", dy), alloc(t, d, "y", n), alloc(t, d, "dx", n)
	run(t, d, func(s *vk.Sequence) {
		l.Forward(s, by, bx, clock)
		l.Backward(s, bdx, bdy, clock)
	})
	mask := ref.DropoutMask(n, float64(p), seed, step, stream)
	wantY, wantDX := make([]float64, n), make([]float64, n)
	for i := range mask {
		wantY[i], wantDX[i] = x[i]*mask[i], dy[i]*mask[i]
	}
	expect(t, "y", by, wantY, ref.Pointwise)
	expect(t, "dx (the same mask)", bdx, wantDX, ref.Pointwise)
}

// A draw from an element on is that part of the whole draw, bit for bit,
// for z and for dropout masks: a data-parallel rank's rows of the batch.
func TestDrawFrom(t *testing.T) {
	d := vktest.Open(t)
	const n, first, seed, step, stream, p = 4003, 1200, 9, 4, 3, float32(0.3)
	clock, err := layers.NewClock(d, "from", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer clock.Close()
	if err := clock.Set(seed, step); err != nil {
		t.Fatal(err)
	}
	whole, err := layers.NewNormal(d, n, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	part, err := layers.NewNormalFrom(d, first, n-first, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	wholeDrop, err := layers.NewDropout(d, n, p, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer wholeDrop.Close()
	partDrop, err := layers.NewDropoutFrom(d, first, n-first, p, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer partDrop.Close()
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	bz, bpart := alloc(t, d, "z", n), alloc(t, d, "z part", n-first)
	bones, bmask, bmaskPart := upload(t, d, "ones", ones), alloc(t, d, "mask", n), alloc(t, d, "mask part", n-first)
	bonesPart := upload(t, d, "ones part", ones[first:])
	run(t, d, func(s *vk.Sequence) {
		whole.Draw(s, bz, clock)
		part.Draw(s, bpart, clock)
		wholeDrop.Forward(s, bmask, bones, clock)
		partDrop.Forward(s, bmaskPart, bonesPart, clock)
	})
	if err := ref.Exact.Check(download(t, bpart, n-first), download(t, bz, n)[first:]); err != nil {
		t.Errorf("z from element %d: %v", first, err)
	}
	if err := ref.Exact.Check(download(t, bmaskPart, n-first), download(t, bmask, n)[first:]); err != nil {
		t.Errorf("dropout mask from element %d: %v", first, err)
	}
	for _, f := range []int{-4, 2} {
		if _, err := layers.NewNormalFrom(d, f, 8, 0); err == nil {
			t.Errorf("a normal draw from element %d was built", f)
		}
	}
}
