package safetensors

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What Write writes, Read reads back: the metadata, every tensor's dtype,
// shape and bytes in the order written, and F32 values.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.safetensors")
	in := []Tensor{F32("w", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-30, 6}), I64("n", []int{}, []int64{-7}), F32("e", []int{0}, nil)}
	if err := Write(path, map[string]string{"format": "x"}, in); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Meta["format"] != "x" {
		t.Errorf("metadata %v", f.Meta)
	}
	out := f.Tensors()
	if len(out) != len(in) {
		t.Fatalf("read %d tensors, wrote %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Name != b.Name || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || !slices.Equal(a.Data, b.Data) {
			t.Errorf("tensor %d: wrote %+v, read %+v", i, a, b)
		}
	}
	if v, err := f.Floats("w"); err != nil || !slices.Equal(v, []float32{1, -2, 3.5, 0, 1e-30, 6}) {
		t.Errorf("Floats(w) = %v, %v", v, err)
	}
	if _, err := f.Floats("n"); err == nil || !strings.Contains(err.Error(), "is I64") {
		t.Errorf("Floats of an I64 tensor: %v", err)
	}
	if _, err := f.Floats("nope"); err == nil || !strings.Contains(err.Error(), `no tensor "nope"`) {
		t.Errorf("Floats of a missing tensor: %v", err)
	}
	if _, err := Read(filepath.Join(filepath.Dir(path), "missing")); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(filepath.Dir(path), "missing")+": ") {
		t.Errorf("a missing file: %v, want an error that starts with its path", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if hlen := int(b[0]) | int(b[1])<<8; (8+hlen)%8 != 0 {
		t.Errorf("the data starts at byte %d, not 8-byte aligned", 8+hlen)
	}
}
