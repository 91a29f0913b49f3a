package main

import (
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan/anim"
	"github.com/gan-vk/gan-vk/internal/gantest"
)

func readGIF(t *testing.T, path string) *gif.GIF {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

// TestTimelapse: train --gif and gan-vk timelapse animate the run's grids
// in step order, each frame the grid's pixels under a label, the last held.
func TestTimelapse(t *testing.T) {
	shared, dir := sharedRun(t), t.TempDir()
	if r, _ := tinyRun(); !strings.Contains(r.trained, "progress.gif: 3 frames") {
		t.Errorf("train --gif's output lacks the GIF:\n%s", r.trained)
	}
	if g := readGIF(t, filepath.Join(shared, "progress.gif")); len(g.Image) != 3 || g.Delay[0] != 13 || g.Delay[2] != 200 {
		t.Errorf("train --gif: %d frames with delays %v, want 3 at 13 and the last at 200", len(g.Image), g.Delay)
	}
	// A copy of the run's config and grids, to add to.
	run := filepath.Join(dir, "run")
	for _, f := range []string{"config.json", "samples/step_000002.png", "samples/step_000004.png", "samples/step_000005.png"} {
		gantest.WriteFile(t, filepath.Join(run, f), readFile(t, filepath.Join(shared, f)))
	}
	// A grid past step 999999 sorts by its step, not its name.
	late := filepath.Join(run, "samples", "step_10000000.png")
	if err := os.WriteFile(late, readFile(t, filepath.Join(run, "samples", "step_000002.png")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.gif")
	code, stdout, stderr := runCLI(t, "timelapse", run, "--out", out, "--every", "2", "--fps", "10", "--hold", "3s")
	if code != 0 || !strings.Contains(stdout, "3 frames, steps 2 to 10000000") {
		t.Fatalf("timelapse: exit %d\n%s\n%s", code, stdout, stderr)
	}
	g := readGIF(t, out)
	steps := []string{"step_000002.png", "step_000005.png", "step_10000000.png"} // every 2nd of 2, 4, 5, 10000000, and the last
	if len(g.Image) != len(steps) || g.Delay[0] != 10 || g.Delay[1] != 10 || g.Delay[2] != 300 {
		t.Fatalf("%d frames with delays %v, want %d at 10 and the last at 300", len(g.Image), g.Delay, len(steps))
	}
	for i, name := range steps {
		want := readPNG(t, filepath.Join(run, "samples", name))
		m := g.Image[i]
		if len(m.Palette) != 256 {
			t.Errorf("frame %d: %d colours, want the 256 grays", i, len(m.Palette))
		}
		b := want.Bounds()
		if m.Bounds().Dx() != b.Dx() || m.Bounds().Dy() != b.Dy()+anim.LabelHeight {
			t.Fatalf("frame %d is %v, the grid %v under a %d-pixel label", i, m.Bounds(), b, anim.LabelHeight)
		}
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				if gr, _, _, _ := m.At(x, y+anim.LabelHeight).RGBA(); gr>>8 != uint32(want.(interface{ GrayAt(x, y int) color.Gray }).GrayAt(x, y).Y) {
					t.Fatalf("frame %d (%s) differs from the grid at (%d,%d)", i, name, x, y)
				}
			}
		}
		if i > 0 && sameRows(g.Image[i-1], m, anim.LabelHeight) {
			t.Errorf("frames %d and %d have the same label strip", i-1, i)
		}
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"timelapse"}, 2, "give the run folder"},
		{[]string{"timelapse", run, run}, 2, "give one run folder"},
		{[]string{"timelapse", run, "--fps", "60"}, 2, "--fps 60 must be in [1, 50]"},
		{[]string{"timelapse", run, "--every", "0"}, 2, "--every 0"},
		{[]string{"timelapse", dir}, 1, "not a gan-vk run folder"},
		{[]string{"timelapse", run, "--out", filepath.Join(dir, "none", "x.gif")}, 1, "writing"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if err := os.WriteFile(late, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "timelapse", run); code != 1 || !strings.Contains(stderr, "step_10000000.png does not decode as a PNG") {
		t.Errorf("a damaged grid: exit %d, %q", code, stderr)
	}
	empty := filepath.Join(dir, "empty")
	gantest.WriteFile(t, filepath.Join(empty, "config.json"), readFile(t, filepath.Join(run, "config.json")))
	if code, _, stderr := runCLI(t, "timelapse", empty); code != 1 || !strings.Contains(stderr, "has no sample grids yet") {
		t.Errorf("a run without grids: exit %d, %q", code, stderr)
	}
}

// sameRows says whether two frames agree on their first rows.
func sameRows(a, b *image.Paletted, rows int) bool {
	for y := 0; y < rows; y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			if a.ColorIndexAt(x, y) != b.ColorIndexAt(x, y) {
				return false
			}
		}
	}
	return true
}
