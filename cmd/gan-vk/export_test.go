package main

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// webDir is the npm package that runs exported models in onnxruntime-node.
const webDir = "../../web"

// onnxruntime makes sure onnxruntime-node is installed in web/, installing
// it from package-lock.json (npm ci) when it is not.
func onnxruntime(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is missing: ./build.sh deps installs Debian's nodejs")
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "onnxruntime-node", "package.json")); err == nil {
		return
	}
	// The bundled CPU binaries are all the test needs: skip the install
	// script's download of CUDA ones from NuGet.
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir, cmd.Env = webDir, append(os.Environ(), "ONNXRUNTIME_NODE_INSTALL=skip")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in web/: %v\n%s", err, out)
	}
}

// TestExportONNX: the exported generator, run by onnxruntime-node on the
// z gan-vk sample draws, reproduces sample's PNG to within one level per
// pixel, for the EMA and the raw generator.
func TestExportONNX(t *testing.T) {
	onnxruntime(t)
	dir, ckpt := t.TempDir(), sharedRun(t)
	const n, seed = 6, 7
	z := sampleZ(t, ckpt, n, seed)
	zPath := filepath.Join(dir, "z.f32")
	if err := os.WriteFile(zPath, f32Bytes(z), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"ema", "raw"} {
		model, grid, out := filepath.Join(dir, w+".onnx"), filepath.Join(dir, w+".png"), filepath.Join(dir, w+".f32")
		code, stdout, stderr := runCLI(t, "export", "--checkpoint", ckpt, "--onnx", model, "--weights", w)
		if code != 0 || !strings.Contains(stdout, "the "+w+" generator") || !strings.Contains(stdout, "z [batch, 100] to images [batch, 1, 28, 28]") {
			t.Fatalf("export --weights %s: exit %d\n%s\n%s", w, code, stdout, stderr)
		}
		if code, stdout, stderr = runCLI(t, "sample", "--checkpoint", ckpt, "--weights", w, "--n", "6", "--seed", "7", "--grid", grid); code != 0 {
			t.Fatalf("sample: exit %d\n%s\n%s", code, stdout, stderr)
		}
		node := exec.Command("node", "run-generator.mjs", model, zPath, "6", out)
		node.Dir = webDir
		if msg, err := node.CombinedOutput(); err != nil || !strings.Contains(string(msg), "[6, 1, 28, 28] with onnxruntime-node") {
			t.Fatalf("onnxruntime-node: %v\n%s", err, msg)
		}
		imgs := floatsOf(t, readFile(t, out))
		if len(imgs) != n*28*28 {
			t.Fatalf("onnxruntime-node made %d floats, want %d", len(imgs), n*28*28)
		}
		got, want := gan.Grid(imgs, n, 1, 28, 8), readPNG(t, grid)
		if !samePixels(got, want, 1) {
			t.Errorf("%s: onnxruntime-node's images differ from gan-vk sample's by more than one level", w)
		}
		diff, total := 0, 0
		for y := 0; y < want.Bounds().Dy(); y++ {
			for x := 0; x < want.Bounds().Dx(); x++ {
				a, _, _, _ := got.At(x, y).RGBA()
				b, _, _, _ := want.At(x, y).RGBA()
				if a != b {
					diff++
				}
				total++
			}
		}
		t.Logf("%s: %d of %d pixels differ from sample's", w, diff, total)
		if w == "raw" && samePixels(got, readPNG(t, filepath.Join(dir, "ema.png")), 0) {
			t.Errorf("the raw generator's export draws the EMA generator's images")
		}
	}

	broken := filepath.Join(dir, "broken.safetensors")
	if err := os.WriteFile(broken, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--onnx", "g.onnx"}, 2, "--checkpoint is required"},
		{[]string{"export", "--checkpoint", ckpt}, 2, "--onnx is required"},
		{[]string{"export", "--checkpoint", ckpt, "--onnx", "g.onnx", "--weights", "best"}, 2, "want raw or ema"},
		{[]string{"export", "--checkpoint", broken, "--onnx", "g.onnx"}, 1, "broken.safetensors"},
		{[]string{"export", "--checkpoint", dir, "--onnx", "g.onnx"}, 1, "no checkpoint"},
		{[]string{"export", "--checkpoint", ckpt, "--onnx", filepath.Join(dir, "none", "g.onnx")}, 1, "writing"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// sampleZ is the z gan-vk sample --seed seed --n n draws.
func sampleZ(t *testing.T, ckpt string, n int, seed uint64) []float32 {
	t.Helper()
	d := vktest.Open(t)
	c, err := run.NewestCheckpoint(ckpt, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := run.LoadGenerator(d, c, gan.DefaultWeights)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, err := g.NewSampler(d, n, seed, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	z, err := s.ZValues()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func floatsOf(t *testing.T, b []byte) []float32 {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("%d bytes is not a whole number of floats", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
