package main

import (
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan/data"
)

// fashionTest is Fashion-MNIST's test set, which build.sh installs.
const fashionTest = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

var lossLine = regexp.MustCompile(`mean loss (\S+) from (\S+); contextual (\S+) from (\S+)\)`)

// losses reads complete's final line: the mean loss and contextual loss
// after and before the search.
func completeLosses(t *testing.T, stdout string) (loss, loss0, ctx, ctx0 float64) {
	t.Helper()
	m := lossLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no losses in complete's output:\n%s", stdout)
	}
	v := make([]float64, 4)
	for i := range v {
		var err error
		if v[i], err = strconv.ParseFloat(m[i+1], 64); err != nil {
			t.Fatal(err)
		}
	}
	return v[0], v[1], v[2], v[3]
}

// TestComplete: on Fashion-MNIST test images with their centre masked, the
// search lowers the loss from a random z's, and the blend keeps every
// known pixel of the input.
func TestComplete(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	run, dir := sharedRun(t), t.TempDir()
	out := filepath.Join(dir, "complete.png")
	code, stdout, stderr := runCLI(t, "complete", "--checkpoint", run, "--images", fashionTest, "--n", "2", "--iters", "60", "--weighted", "--out", out)
	if code != 0 || !strings.Contains(stdout, "2 of the 10000 images") || !strings.Contains(stdout, "iteration 60/60") {
		t.Fatalf("complete: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The search starts from a random z (sample's for --seed): its loss is
	// a random z's.
	loss, loss0, ctx, ctx0 := completeLosses(t, stdout)
	if !(loss < loss0) || !(ctx < ctx0) {
		t.Errorf("the search did not end below a random z's loss: %g from %g, contextual %g from %g", loss, loss0, ctx, ctx0)
	}

	ds, err := data.Open(data.Options{Path: fashionTest, Size: 28})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	grid := readPNG(t, out)
	if b := grid.Bounds(); b.Dx() != 3*30+2 || b.Dy() != 2*30+2 {
		t.Fatalf("the grid is %v, want 2 rows of 3 images", b)
	}
	const cell = 28 + 2
	px := make([]byte, 28*28)
	for i := 0; i < 2; i++ {
		if err := ds.RawImage(i, px); err != nil {
			t.Fatal(err)
		}
		at := func(col, x, y int) uint8 {
			return grid.(*image.Gray).GrayAt(2+col*cell+x, 2+i*cell+y).Y
		}
		hole, known, filled := 0, 0, 0
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				inHole := x >= 7 && x < 21 && y >= 7 && y < 21
				switch {
				case !inHole && (at(0, x, y) != px[y*28+x] || at(2, x, y) != px[y*28+x]):
					t.Fatalf("image %d, known pixel (%d, %d): input %d, masked %d, blend %d", i, x, y, px[y*28+x], at(0, x, y), at(2, x, y))
				case !inHole:
					known++
				case at(0, x, y) != 128:
					t.Fatalf("image %d: the hole at (%d, %d) is %d, not grey", i, x, y, at(0, x, y))
				default:
					hole++
					if at(2, x, y) == at(1, x, y) {
						filled++
					}
				}
			}
		}
		if hole != 14*14 || filled != hole {
			t.Errorf("image %d: %d hole pixels, %d of them G(z)'s in the blend; want 196 and all", i, hole, filled)
		}
	}

	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.png")
	if err := os.WriteFile(wide, readFile(t, out), 0o644); err != nil { // 92×62: no 28×28 mask
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"complete", "--images", fashionTest}, 2, "--checkpoint is required"},
		{[]string{"complete", "--checkpoint", run}, 2, "--images is required"},
		{[]string{"complete", "--checkpoint", run, "--images", fashionTest, "--n", "0"}, 2, "--n 0"},
		{[]string{"complete", "--checkpoint", run, "--images", fashionTest, "--out", "x.jpg"}, 2, "ending in .png"},
		{[]string{"complete", "--checkpoint", run, "--images", fashionTest, "--mask", "middle"}, 2, `--mask "middle"`},
		{[]string{"complete", "--checkpoint", run, "--images", fashionTest, "--mask", wide}, 1, "is 92×62; the generator makes 28×28"},
		{[]string{"complete", "--checkpoint", run, "--images", bad}, 1, "bad.png"},
		{[]string{"complete", "--checkpoint", run, "--images", filepath.Join(dir, "none")}, 1, "no such file"},
		{[]string{"complete", "--checkpoint", dir, "--images", fashionTest}, 1, "no checkpoint"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
