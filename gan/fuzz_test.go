package gan

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The readers of everything gan-vk takes from outside — IDX files, image
// files, checkpoints, config.json — fuzzed. Each must refuse what it cannot
// read with an error, never panic, hang or allocate more than the input
// justifies. The seed corpora are testdata/fuzz/<target>/ plus the f.Add
// seeds below; `go test ./gan` runs them, and ./build.sh test fuzzes each
// target for a few seconds:
//
//	go test -run - -fuzz '^FuzzIDX$' -fuzztime 1m ./gan

// The targets parse from memory: the readers' path forms only open the
// file, and writing a file per input made the fuzzer wait on the disk.

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes(3, 28, 28))
	f.Add(gz(idxBytes(2, 5, 7)))
	f.Add(idxBytes(1, 1, 1)[:10])
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0, 0x10, 0}) // 4 G images of 4096²
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, rows, cols, pix, err := readIDX(bytes.NewReader(data), "images.idx")
		if err != nil {
			return
		}
		if n < 1 || rows < 1 || cols < 1 || len(pix) != n*rows*cols {
			t.Fatalf("accepted %d images of %d×%d with %d bytes of pixels", n, rows, cols, len(pix))
		}
		if len(pix) > 1<<20 && len(pix) > 1100*len(data) { // gzip's best ratio is about 1000:1
			t.Fatalf("%d bytes of pixels from a %d-byte file", len(pix), len(data))
		}
	})
}

func FuzzImage(f *testing.F) {
	for _, enc := range []func(*bytes.Buffer, image.Image) error{
		func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) },
		func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) },
	} {
		for _, m := range []image.Image{image.NewGray(image.Rect(0, 0, 1, 1)), image.NewRGBA(image.Rect(0, 0, 9, 5)),
			image.NewGray16(image.Rect(0, 0, 4, 6)), image.NewCMYK(image.Rect(0, 0, 3, 3))} {
			var b bytes.Buffer
			if err := enc(&b, m); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for _, crop := range []func(image.Rectangle) image.Rectangle{squareCrop, celebACrop} {
			if err := decodeFrom(bytes.NewReader(data), "image", dst, crop); err != nil {
				return
			}
		}
		for i := 3; i < len(dst.Pix); i += 4 {
			if dst.Pix[i] != 0xff {
				t.Fatalf("a decoded image is not opaque: alpha %d", dst.Pix[i])
			}
		}
	})
}

// validCheckpoint is a small well-formed checkpoint file.
func validCheckpoint(t testing.TB) []byte {
	m, err := DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "c.safetensors")
	err = writeSafetensors(p, map[string]string{"format": checkpointFormat, "config": string(cfg), "step": "3"},
		[]stTensor{f32Tensor("generator.0.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), f32Tensor("b", []int{1}, []float32{7})})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzCheckpoint(f *testing.F) {
	f.Add(validCheckpoint(f))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x10{}"))                          // 2^60-byte header
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\"}}")) // no shape or offsets
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseSafetensors(bytes.NewReader(data), int64(len(data)), "c.safetensors")
		if err != nil || checkFormat(c) != nil {
			return
		}
		if int64(len(c.data)) > int64(len(data)) {
			t.Fatalf("holds %d bytes of tensors from a %d-byte file", len(c.data), len(data))
		}
		c.State()
		for a, ea := range c.entries {
			for b, eb := range c.entries {
				if a < b && ea.Offsets[0] < eb.Offsets[1] && eb.Offsets[0] < ea.Offsets[1] {
					t.Fatalf("tensors %q %v and %q %v overlap", a, ea.Offsets, b, eb.Offsets)
				}
			}
		}
		for name, e := range c.entries {
			if e.DType != "F32" {
				continue
			}
			v, err := c.floats(name, e.Shape)
			if err != nil {
				t.Fatalf("tensor %q was accepted, then not readable: %v", name, err)
			}
			if want := (e.Offsets[1] - e.Offsets[0]) / 4; int64(len(v)) != want {
				t.Fatalf("tensor %q: %d values from %d bytes", name, len(v), 4*want)
			}
		}
	})
}

func FuzzRunConfig(f *testing.F) {
	m, err := DefaultModel("dcgan64", 3)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(RunConfig{Train: TrainConfig{Model: m, Batch: 64, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1},
		Data: "/data/celeba", Crop: CropCelebA, Epochs: 25, SampleEvery: 200, CheckpointEvery: 500, Keep: 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"train":{"batch":-1}}`))
	f.Add([]byte(`{"train":{"model":{"preset":"dcgan28","channels":1,"z":1e12}}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseRunConfig(data, "config.json")
		if err != nil {
			return
		}
		// What was accepted reads back the same once written out.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseRunConfig(b, "config.json")
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("config %+v written and read again: %+v, %v", c, again, err)
		}
	})
}

// readFileT reads a file; with corpus, the file is a seed of a fuzz corpus
// holding one []byte, and it returns those bytes.
func readFileT(t testing.TB, path string, corpus bool) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !corpus {
		return b
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	lit := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
	v, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}
