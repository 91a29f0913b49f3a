package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
)

// condRun is a class-conditional run of a few steps on labelled IDX data
// (48 images of 3 classes) that the conditional tests share, trained once
// under the tests' cache folder.
var condRun = sync.OnceValues(func() (tiny, error) {
	dir, err := os.MkdirTemp(os.Getenv("XDG_CACHE_HOME"), "cond-run-")
	if err != nil {
		return tiny{}, err
	}
	images := filepath.Join(dir, "train-images-idx3-ubyte")
	if err := os.WriteFile(images, idxImages(48, 28, 28), 0o644); err != nil {
		return tiny{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxLabels(48, 3), 0o644); err != nil {
		return tiny{}, err
	}
	r := filepath.Join(dir, "run")
	var out, errs strings.Builder
	if code := execute([]string{"train", "--conditional", "--data", images, "--steps", "4", "--gf", "4", "--df", "4", "--batch", "8",
		"--run", r, "--sample-every", "0"}, &out, &errs); code != 0 {
		return tiny{}, &usageError{"training the shared conditional run: " + errs.String()}
	}
	return tiny{r, out.String()}, nil
})

// idxLabels is an IDX labels file of n labels taking each of classes in turn.
func idxLabels(n, classes int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{0x801, uint32(n)})
	for i := range n {
		b.WriteByte(byte(i % classes))
	}
	return b.Bytes()
}

// TestConditional: train --conditional keeps the classes, its grid has a
// row per class, sample --class draws the class asked for (and a class
// changes the image), the ONNX export with its class input draws sample's
// images, interpolate's walk between classes passes through each class's
// sample, and every misuse is one line and a non-zero exit.
func TestConditional(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	r, err := condRun()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.trained, "conditional on 3 classes") || !strings.Contains(r.trained, "row 1 0, row 2 1, row 3 2") {
		t.Errorf("train printed\n%s\nwant the classes and the grid's rows", r.trained)
	}
	var cfg run.Config
	if err := json.Unmarshal(readFile(t, filepath.Join(r.run, "config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	if m := cfg.Train.Model; m.Classes != 3 || strings.Join(m.ClassNames, ",") != "0,1,2" {
		t.Errorf("config.json's model has classes %d named %v, want 3 named 0, 1, 2", m.Classes, m.ClassNames)
	}
	grid := readPNG(t, filepath.Join(r.run, "samples", "step_000004.png"))
	if b := grid.Bounds(); b.Dx() != 8*30+2 || b.Dy() != 3*30+2 {
		t.Errorf("the sample grid is %v, want 8 columns and a row for each of 3 classes", b)
	}

	dir := t.TempDir()
	sample := func(class, n string) string {
		p := filepath.Join(dir, "class"+class+"-"+n+".png")
		if code, stdout, stderr := runCLI(t, "sample", "--checkpoint", r.run, "--class", class, "--n", n, "--seed", "7", "--cols", "6", "--grid", p); code != 0 {
			t.Fatalf("sample --class %s: exit %d\n%s\n%s", class, code, stdout, stderr)
		}
		return p
	}
	two, one := sample("2", "6"), sample("1", "6")
	if samePixels(readPNG(t, two), readPNG(t, one), 0) {
		t.Errorf("classes 1 and 2 draw the same images from the same z")
	}
	checkConditionalONNX(t, r.run, dir, two)

	walk := filepath.Join(dir, "walk")
	if code, stdout, stderr := runCLI(t, "interpolate", "--checkpoint", r.run, "--classes", "0,2", "--seeds", "7,8", "--n", "6",
		"--frames", "2", "--out", walk); code != 0 || !strings.Contains(stdout, "walks between classes 0,2") {
		t.Fatalf("interpolate --classes: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !samePixels(readPNG(t, filepath.Join(walk, "frame_0002.png")), readPNG(t, two), 0) {
		t.Errorf("the walk's frame at class 2 is not sample --class 2's images")
	}
	if samePixels(readPNG(t, filepath.Join(walk, "frame_0001.png")), readPNG(t, two), 0) {
		t.Errorf("the walk's frame between classes is class 2's")
	}
	checkConditionalMisuse(t, r.run, dir)
}

// checkConditionalONNX: the export, run by onnxruntime-node on sample's
// z with class 2 for every image, draws sample --class 2's images.
func checkConditionalONNX(t *testing.T, ckpt, dir, want string) {
	onnxruntime(t)
	model, zPath, out := filepath.Join(dir, "g.onnx"), filepath.Join(dir, "z.f32"), filepath.Join(dir, "g.f32")
	code, stdout, stderr := runCLI(t, "export", "--checkpoint", ckpt, "--onnx", model)
	if code != 0 || !strings.Contains(stdout, "and class [batch] (0 to 2)") {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if err := os.WriteFile(zPath, f32Bytes(sampleZ(t, ckpt, 6, 7)), 0o644); err != nil {
		t.Fatal(err)
	}
	node := exec.Command("node", "run-generator.mjs", model, zPath, "6", out, "2")
	node.Dir = webDir
	if msg, err := node.CombinedOutput(); err != nil || !strings.Contains(string(msg), "[6, 1, 28, 28] with onnxruntime-node") {
		t.Fatalf("onnxruntime-node: %v\n%s", err, msg)
	}
	if !samePixels(gan.Grid(floatsOf(t, readFile(t, out)), 6, 1, 28, 6), readPNG(t, want), 1) {
		t.Errorf("onnxruntime-node's class-2 images differ from sample --class 2's by more than one level")
	}
}

// checkConditionalMisuse: a class that does not exist, a class for an
// unconditional model, --conditional on unlabelled data or on labels that
// do not belong to the images, and a conditional checkpoint given to a
// command that needs a class or cannot use one.
func checkConditionalMisuse(t *testing.T, ckpt, dir string) {
	unlabelled := filepath.Join(dir, "unlabelled", "train-images-idx3-ubyte")
	short := filepath.Join(dir, "short", "train-images-idx3-ubyte")
	for _, p := range []string{unlabelled, short} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, idxImages(16, 28, 28), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "short", "train-labels-idx1-ubyte"), idxLabels(10, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sample", "--checkpoint", ckpt, "--class", "3"}, 2, `class "3" does not exist: give a number from 0 to 2`},
		{[]string{"sample", "--checkpoint", sharedRun(t), "--class", "1"}, 2, "is not class-conditional"},
		{[]string{"train", "--conditional", "--data", unlabelled, "--run", filepath.Join(dir, "r1")}, 1, "is not labelled: an IDX images file needs its labels file"},
		{[]string{"train", "--conditional", "--data", short, "--run", filepath.Join(dir, "r2")}, 1, "holds 10 labels for the 16 images"},
		{[]string{"interpolate", "--checkpoint", ckpt}, 2, "is class-conditional: give --class K"},
		{[]string{"interpolate", "--checkpoint", ckpt, "--classes", "1"}, 2, "a walk needs at least two classes"},
		{[]string{"interpolate", "--checkpoint", sharedRun(t), "--class", "1"}, 2, "trained without --conditional"},
		{[]string{"complete", "--checkpoint", ckpt, "--images", unlabelled}, 1, "does not search over classes"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
