package layers_test

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
)

// rnd draws n values N(0, scale²), rounded to float32 so the reference sees
// exactly what the device sees.
func rnd(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(r.NormFloat64() * scale))
	}
	return v
}

// upload makes a device buffer holding v as float32.
func upload(t testing.TB, d *vk.Device, name string, v []float64) *vk.Buffer {
	t.Helper()
	b := alloc(t, d, name, len(v))
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	if err := b.Upload(0, vk.Float32Bytes(f)); err != nil {
		t.Fatalf("uploading %s: %v", name, err)
	}
	return b
}

// alloc makes an uninitialised device buffer of n floats, closed when the
// test ends.
func alloc(t testing.TB, d *vk.Device, name string, n int) *vk.Buffer {
	t.Helper()
	b, err := d.NewBuffer(name, 4*n)
	if err != nil {
		t.Fatalf("allocating %s: %v", name, err)
	}
	t.Cleanup(b.Close)
	return b
}

// uploadLabels makes a device buffer of the labels as uint32s, closed
// when the test ends.
func uploadLabels(t testing.TB, d *vk.Device, labels []int) *vk.Buffer {
	t.Helper()
	raw := make([]byte, 4*len(labels))
	for i, l := range labels {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(l))
	}
	b := alloc(t, d, "labels", len(labels))
	if err := b.Upload(0, raw); err != nil {
		t.Fatal(err)
	}
	return b
}

// download reads the first n floats of b.
func download(t testing.TB, b *vk.Buffer, n int) []float64 {
	t.Helper()
	raw := make([]byte, 4*n)
	if err := b.Download(0, raw); err != nil {
		t.Fatalf("downloading %s: %v", b.Name(), err)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24))
	}
	return v
}

// run records with rec into a new sequence, submits it and waits.
func run(t testing.TB, d *vk.Device, rec func(s *vk.Sequence)) {
	t.Helper()
	s, err := d.NewSequence(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec(s)
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
}

// expect holds got (a device buffer) to want at tolerance tol.
func expect(t testing.TB, what string, got *vk.Buffer, want []float64, tol ref.Tol) {
	t.Helper()
	if err := tol.Check(download(t, got, len(want)), want); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// refAct maps a layers activation to its reference.
func refAct(a layers.Activation) (ref.Act, float64) { return ref.Act(a.Act), float64(float32(a.Slope)) }
