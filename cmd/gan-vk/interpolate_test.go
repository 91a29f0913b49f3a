package main

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tinyRun is a run of a few steps that the generation commands' tests
// share, trained once (under the tests' cache folder, removed at the end),
// with a sample grid every 2 steps and train --gif's GIF.

// tiny is the shared run and what its train printed.
type tiny struct{ run, trained string }

var tinyRun = sync.OnceValues(func() (tiny, error) {
	dir, err := os.MkdirTemp(os.Getenv("XDG_CACHE_HOME"), "tiny-run-")
	if err != nil {
		return tiny{}, err
	}
	data := filepath.Join(dir, "images.idx")
	if err := os.WriteFile(data, idxImages(48, 28, 28), 0o644); err != nil {
		return tiny{}, err
	}
	run := filepath.Join(dir, "run")
	var out, errs strings.Builder
	if code := execute([]string{"train", "--data", data, "--steps", "5", "--gf", "4", "--df", "4", "--batch", "8",
		"--run", run, "--sample-every", "2", "--gif"}, &out, &errs); code != 0 {
		return tiny{}, &usageError{"training the shared run: " + errs.String()}
	}
	return tiny{run, out.String()}, nil
})

func sharedRun(t *testing.T) string {
	t.Helper()
	r, err := tinyRun()
	if err != nil {
		t.Fatal(err)
	}
	return r.run
}

// samePixels compares two images pixel by pixel, allowing tol levels.
func samePixels(a, b image.Image, tol uint32) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, d := range [][2]uint32{{ar, br}, {ag, bg}, {ab, bb}} {
				if d[0]>>8 > d[1]>>8+tol || d[1]>>8 > d[0]>>8+tol {
					return false
				}
			}
		}
	}
	return true
}

// TestInterpolate: a walk's frames at its seeds are gan-vk sample's images
// for those seeds, in GIF and PNG form; --arith's result is its z's image.
func TestInterpolate(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	run, dir := sharedRun(t), t.TempDir()
	sample := func(seed string) image.Image {
		p := filepath.Join(dir, "sample-"+seed+".png")
		if code, stdout, stderr := runCLI(t, "sample", "--checkpoint", run, "--seed", seed, "--n", "3", "--cols", "3", "--grid", p); code != 0 {
			t.Fatalf("sample: exit %d\n%s\n%s", code, stdout, stderr)
		}
		return readPNG(t, p)
	}
	seed3, seed5 := sample("3"), sample("5")

	walk := filepath.Join(dir, "walk.gif")
	code, stdout, stderr := runCLI(t, "interpolate", "--checkpoint", run, "--seeds", "3,5", "--n", "3", "--frames", "4", "--fps", "10", "--out", walk)
	if code != 0 || !strings.Contains(stdout, "8 frames, 3 walks through seeds 3,5 along great circles") {
		t.Fatalf("interpolate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	g := readGIF(t, walk)
	if len(g.Image) != 8 || g.Delay[0] != 10 {
		t.Fatalf("%d frames with delays %v, want 8 at 10", len(g.Image), g.Delay)
	}
	if !samePixels(g.Image[0], seed3, 0) || !samePixels(g.Image[4], seed5, 0) {
		t.Errorf("frames 0 and 4 differ from gan-vk sample's images for seeds 3 and 5")
	}
	if samePixels(g.Image[1], seed3, 0) || samePixels(g.Image[1], g.Image[2], 0) {
		t.Errorf("frames 1 and 2 do not move away from seed 3")
	}

	frames := filepath.Join(dir, "frames")
	if code, stdout, stderr = runCLI(t, "interpolate", "--checkpoint", run, "--seeds", "3,5", "--n", "3", "--frames", "4", "--lerp", "--out", frames); code != 0 || !strings.Contains(stdout, "straight lines") {
		t.Fatalf("interpolate --lerp to a folder: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(frames); len(ents) != 8 {
		t.Fatalf("the folder holds %d frames, want 8", len(ents))
	}
	if !samePixels(readPNG(t, filepath.Join(frames, "frame_0004.png")), seed5, 0) {
		t.Errorf("frame_0004.png differs from gan-vk sample's image for seed 5")
	}
	if samePixels(readPNG(t, filepath.Join(frames, "frame_0002.png")), g.Image[2], 0) {
		t.Errorf("--lerp's halfway frame equals the spherical walk's")
	}

	arith := filepath.Join(dir, "arith.png")
	if code, stdout, stderr = runCLI(t, "interpolate", "--checkpoint", run, "--arith", "(3,3)-3+5", "--n", "3", "--out", arith); code != 0 || !strings.Contains(stdout, "3 rows of (3,3)-3+5") {
		t.Fatalf("interpolate --arith: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// (3,3) is seed 3's z, so the result is seed 5's: its column is sample's images.
	cells := readPNG(t, arith).(interface {
		SubImage(image.Rectangle) image.Image
	})
	const cell = 28 + 2
	for row := 0; row < 3; row++ {
		got := cells.SubImage(image.Rect(2+3*cell, 2+row*cell, 2+3*cell+28, 2+row*cell+28))
		want := seed5.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(2+row*cell, 2, 2+row*cell+28, 30))
		if !shiftedSame(got, want, 1) {
			t.Errorf("row %d: the result of 3-3+5 is not seed 5's image", row)
		}
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"interpolate"}, 2, "--checkpoint is required"},
		{[]string{"interpolate", "--checkpoint", run, "--seeds", "4"}, 2, "at least two seeds"},
		{[]string{"interpolate", "--checkpoint", run, "--seeds", "4,x"}, 2, `"x" is not a seed`},
		{[]string{"interpolate", "--checkpoint", run, "--arith", "1+*2"}, 2, "does not parse"},
		{[]string{"interpolate", "--checkpoint", run, "--arith", "1-2", "--seeds", "1,2"}, 2, "not both"},
		{[]string{"interpolate", "--checkpoint", run, "--arith", "1-2", "--out", "a.gif"}, 2, "ending in .png"},
		{[]string{"interpolate", "--checkpoint", run, "--frames", "0"}, 2, "--frames 0"},
		{[]string{"interpolate", "--checkpoint", run, "--bn", "train"}, 2, `--bn "train"`},
		{[]string{"interpolate", "--checkpoint", dir}, 1, "no checkpoint"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// shiftedSame compares two same-size images that may sit at different
// origins, allowing tol levels.
func shiftedSame(a, b image.Image, tol uint32) bool {
	ra, rb := a.Bounds(), b.Bounds()
	if ra.Size() != rb.Size() {
		return false
	}
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			ar, _, _, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			br, _, _, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			if ar>>8 > br>>8+tol || br>>8 > ar>>8+tol {
				return false
			}
		}
	}
	return true
}
