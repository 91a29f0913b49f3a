package main

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/internal/gantest"
)

// writePNGs writes n colour images of s×s into dir.
func writePNGs(t *testing.T, dir string, n, s int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := image.NewRGBA(image.Rect(0, 0, s, s))
		for y := range s {
			for x := range s {
				m.Set(x, y, color.RGBA{uint8(i * 7), uint8(x * 4), uint8(y * 4), 255})
			}
		}
		if err := gan.WritePNG(filepath.Join(dir, strings.Repeat("0", 3)+string(rune('a'+i%26))+string(rune('a'+i/26))+".png"), m); err != nil {
			t.Fatal(err)
		}
	}
}

// gan-vk score on a run's checkpoint and on a folder, against a small
// labelled data set, and each bad input's one line.
func TestScore(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	dir := t.TempDir()
	ref := gantest.LabelledIDX(t, filepath.Join(dir, "ref"), 400, 1)
	cache := filepath.Join(dir, "cache")
	runDir := filepath.Join(dir, "run")
	if code, stdout, stderr := runCLI(t, "train", "--data", ref, "--steps", "2", "--gf", "4", "--df", "4", "--batch", "8",
		"--run", runDir, "--quiet"); code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The run's own data is the reference.
	code, stdout, stderr := runCLI(t, "score", "--checkpoint", runDir, "--n", "200", "--json", "--cache", cache)
	if code != 0 {
		t.Fatalf("score --checkpoint: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var res struct {
		N         int     `json:"n"`
		FD        float64 `json:"fd"`
		Histogram []int   `json:"histogram"`
		Features  string  `json:"features"`
		Reference string  `json:"reference"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.N != 200 || res.FD <= 0 || len(res.Histogram) != 4 ||
		res.Features != "classifier" || res.Reference != ref {
		t.Errorf("score --json: %+v (%v) from\n%s", res, err, stdout)
	}
	if !strings.Contains(stderr, "ema weights") || !strings.Contains(stderr, "held-out images") {
		t.Errorf("score's progress lacks the weights or the classifier's accuracy:\n%s", stderr)
	}
	checkPerClass(t, ref, runDir, cache)
	// A folder of colour images of another size: converted, and it says so.
	pngs := filepath.Join(dir, "pngs")
	writePNGs(t, pngs, 200, 40)
	code, stdout, stderr = runCLI(t, "score", "--images", pngs, "--data", ref, "--cache", cache)
	if code != 0 || !strings.Contains(stdout, "FD ") || !strings.Contains(stdout, "classes ") ||
		!strings.Contains(stderr, "converted from 3 channels to grey") || !strings.Contains(stderr, "resized to 28×28") {
		t.Errorf("score --images: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "from "+cache) {
		t.Errorf("the second score did not read the cached reference:\n%s", stderr)
	}
	few := filepath.Join(dir, "few")
	writePNGs(t, few, 5, 28)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"score"}, 2, "give one of --checkpoint"},
		{[]string{"score", "--checkpoint", runDir, "--images", pngs}, 2, "give one of --checkpoint"},
		{[]string{"score", "--checkpoint", runDir, "--n", "50"}, 2, "at least 200"},
		{[]string{"score", "--images", pngs, "--weights", "raw"}, 2, "--weights picks a generator"},
		{[]string{"score", "--checkpoint", runDir, "--bn", "running"}, 2, "use eval or batch"},
		{[]string{"score", "--images", pngs, "--per-class"}, 2, "--per-class scores a generator"},
		{[]string{"score", "--images", empty, "--data", ref, "--cache", cache}, 1, "holds no .jpg"},
		{[]string{"score", "--images", few, "--data", ref, "--cache", cache}, 1, "holds 5 images; the score needs at least 200"},
		{[]string{"score", "--images", filepath.Join(dir, "nowhere"), "--data", ref}, 1, "nowhere"},
		{[]string{"score", "--checkpoint", filepath.Join(dir, "nowhere")}, 1, "nowhere"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "gan-vk score:") != 1 {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
}

// checkPerClass: score --per-class of the unconditional run puts each
// image in one class; of a conditional run on the same data, it draws
// each class's share of the data (LabelledIDX's four, drawn at random)
// and says how many the classifier puts in it.
func checkPerClass(t *testing.T, ref, runDir, cache string) {
	t.Helper()
	type classes struct {
		Conditional bool     `json:"conditional"`
		N           int      `json:"n"`
		Accuracy    *float64 `json:"accuracy"`
		FD          float64  `json:"fd"`
		Classes     []struct {
			N        int      `json:"n"`
			Accuracy *float64 `json:"accuracy"`
			Name     string   `json:"name"`
		} `json:"classes"`
	}
	perClass := func(run string) classes {
		code, stdout, stderr := runCLI(t, "score", "--checkpoint", run, "--per-class", "--n", "200", "--json", "--cache", cache)
		var res classes
		// A conditional run draws each class's share of the 200, rounded.
		if err := json.Unmarshal([]byte(stdout), &res); code != 0 || err != nil || len(res.Classes) != 4 || res.N < 198 || res.N > 202 || res.FD <= 0 {
			t.Fatalf("score --per-class: exit %d, %+v (%v)\n%s\n%s", code, res, err, stdout, stderr)
		}
		return res
	}
	res, sum := perClass(runDir), 0
	for _, c := range res.Classes {
		sum += c.N
		if c.Accuracy != nil {
			t.Errorf("an unconditional run's class has an accuracy: %+v", c)
		}
	}
	if res.Conditional || res.N != 200 || sum != 200 || res.Classes[3].Name != "3" || res.Accuracy != nil {
		t.Errorf("an unconditional run's classes: %+v, want every image in one of 4 classes named by number", res)
	}
	cond := filepath.Join(filepath.Dir(runDir), "cond")
	if code, stdout, stderr := runCLI(t, "train", "--conditional", "--data", ref, "--steps", "2", "--gf", "4", "--df", "4", "--batch", "8",
		"--run", cond, "--quiet"); code != 0 {
		t.Fatalf("train --conditional: exit %d\n%s\n%s", code, stdout, stderr)
	}
	res, mean, sum := perClass(cond), 0.0, 0
	for _, c := range res.Classes {
		if c.N < 30 || c.N > 70 || c.Accuracy == nil || *c.Accuracy < 0 || *c.Accuracy > 1 {
			t.Fatalf("a conditional run's class: %+v, want about a quarter of the images and a share", c)
		}
		mean += *c.Accuracy / 4
		sum += c.N
	}
	if !res.Conditional || res.Accuracy == nil || math.Abs(*res.Accuracy-mean) > 1e-9 || sum != res.N {
		t.Errorf("a conditional run's accuracy %v, its classes' mean %g", res.Accuracy, mean)
	}
}
