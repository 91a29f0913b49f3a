package run

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/safetensors"
)

// The readers of a run's files, checkpoints and config.json, fuzzed. Each must refuse what it cannot
// read with an error, never panic, hang or allocate more than the input
// justifies. The seed corpora are testdata/fuzz/<target>/ plus the f.Add
// seeds below; `go test ./gan/run` runs them, and ./build.sh test fuzzes each
// target for a few seconds:
//
//	go test -run - -fuzz '^FuzzCheckpoint$' -fuzztime 1m ./gan/run

// The targets parse from memory: the readers' path forms only open the
// file, and writing a file per input made the fuzzer wait on the disk.

// validCheckpoint is a small well-formed checkpoint file.
func validCheckpoint(t testing.TB) []byte {
	m, err := gan.DefaultModel("dcgan28", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(gan.TrainConfig{Model: m, Batch: 4, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "c.safetensors")
	err = safetensors.Write(p, map[string]string{"format": checkpointFormat, "config": string(cfg), "step": "3"},
		[]safetensors.Tensor{safetensors.F32("generator.0.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), safetensors.F32("b", []int{1}, []float32{7})})
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
		f, err := safetensors.Parse(bytes.NewReader(data), int64(len(data)), "c.safetensors")
		if err != nil {
			return
		}
		c := &Checkpoint{Path: f.Path, Meta: f.Meta, file: f}
		if checkFormat(c) != nil {
			return
		}
		if int64(f.DataLen()) > int64(len(data)) {
			t.Fatalf("holds %d bytes of tensors from a %d-byte file", f.DataLen(), len(data))
		}
		c.State()
		ts := f.Tensors()
		for _, a := range ts {
			ea, _ := f.Entry(a.Name)
			for _, b := range ts {
				eb, _ := f.Entry(b.Name)
				if a.Name < b.Name && ea.Offsets[0] < eb.Offsets[1] && eb.Offsets[0] < ea.Offsets[1] {
					t.Fatalf("tensors %q %v and %q %v overlap", a.Name, ea.Offsets, b.Name, eb.Offsets)
				}
			}
		}
		for _, x := range ts {
			if x.DType != "F32" {
				continue
			}
			v, err := f.Floats(x.Name)
			if err != nil {
				t.Fatalf("tensor %q was accepted, then not readable: %v", x.Name, err)
			}
			if len(v) != len(x.Data)/4 {
				t.Fatalf("tensor %q: %d values from %d bytes", x.Name, len(v), len(x.Data))
			}
		}
	})
}

func FuzzRunConfig(f *testing.F) {
	m, err := gan.DefaultModel("dcgan64", 3)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(Config{Train: gan.TrainConfig{Model: m, Batch: 64, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1},
		Data: "/data/celeba", Crop: data.CropCelebA, Epochs: 25, SampleEvery: 200, CheckpointEvery: 500, Keep: 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"train":{"batch":-1}}`))
	f.Add([]byte(`{"train":{"model":{"preset":"dcgan28","channels":1,"z":1e12}}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data, "config.json")
		if err != nil {
			return
		}
		// What was accepted reads back the same once written out.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseConfig(b, "config.json")
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
