// Package gantest holds what the tests of gan's packages share: a model
// small enough to train in a test, and synthetic training files.
package gantest

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
)

// TinyConfig is a dcgan28 small enough to train in a test, with an EMA
// generator as train's flags give it.
func TinyConfig(t testing.TB) gan.TrainConfig {
	m, err := gan.DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Z, m.GF, m.DF = 16, 4, 4
	return gan.TrainConfig{Model: m, Batch: 8, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 3, EMA: 0.999}
}

// IDX makes an IDX images file of n rows×cols images whose pixel values
// count up from the image index.
func IDX(n, rows, cols int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{0x803, uint32(n), uint32(rows), uint32(cols)})
	for i := 0; i < n*rows*cols; i++ {
		b.WriteByte(byte(i/(rows*cols) + i%7))
	}
	return b.Bytes()
}

// WriteFile writes b to path, making its folder, and returns path.
func WriteFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// LabelledIDX writes an MNIST-style pair of IDX files of n 28×28 images,
// each bright in the quadrant its class (of 4, or of those in only) names,
// and returns the images file.
func LabelledIDX(t testing.TB, dir string, n int, seed int64, only ...int) string {
	const s = 28
	r := rand.New(rand.NewSource(seed))
	var img, lab bytes.Buffer
	binary.Write(&img, binary.BigEndian, []uint32{0x803, uint32(n), s, s})
	binary.Write(&lab, binary.BigEndian, []uint32{0x801, uint32(n)})
	for range n {
		c := r.Intn(4)
		if len(only) > 0 {
			c = only[r.Intn(len(only))]
		}
		lab.WriteByte(byte(c))
		for y := range s {
			for x := range s {
				v := 40 + 30*r.NormFloat64()
				if (y >= s/2) == (c >= 2) && (x >= s/2) == (c%2 == 1) {
					v += 150
				}
				img.WriteByte(byte(max(0, min(255, v))))
			}
		}
	}
	WriteFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), lab.Bytes())
	return WriteFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), img.Bytes())
}
