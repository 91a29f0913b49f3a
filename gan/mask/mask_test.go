package mask

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNamed(t *testing.T) {
	const s = 28
	for _, c := range []struct {
		kind    string
		missing int
		hole    [2]int // a missing pixel (x, y)
		known   [2]int
	}{
		{"center", 14 * 14, [2]int{14, 14}, [2]int{3, 3}},
		{"left", 14 * 28, [2]int{0, 20}, [2]int{27, 20}},
		{"right", 14 * 28, [2]int{27, 0}, [2]int{0, 0}},
		{"top", 14 * 28, [2]int{5, 0}, [2]int{5, 27}},
		{"bottom", 14 * 28, [2]int{5, 27}, [2]int{5, 0}},
	} {
		m, err := Named(c.kind, s, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := Missing(m); got != c.missing || m[c.hole[1]*s+c.hole[0]] != 0 || m[c.known[1]*s+c.known[0]] != 1 {
			t.Errorf("%s: %d missing, pixel %v %g, pixel %v %g; want %d, 0, 1", c.kind, got, c.hole, m[c.hole[1]*s+c.hole[0]], c.known, m[c.known[1]*s+c.known[0]], c.missing)
		}
	}
	a, _ := Named("random", 64, 1)
	b, _ := Named("random", 64, 2)
	if n := Missing(a); n < 700 || n > 940 { // 20 % of 4096 is 819
		t.Errorf("random: %d of 4096 missing, want about 819", n)
	}
	if Missing(a) == Missing(b) && a[0] == b[0] && a[1] == b[1] && a[2] == b[2] {
		t.Errorf("random masks of two seeds look alike")
	}
	if _, err := Named("middle", s, 1); err == nil || !strings.Contains(err.Error(), "center, left") {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, w, h int, black func(x, y int) bool) string {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if !black(x, y) {
					m.SetGray(x, y, color.Gray{Y: 255})
				}
			}
		}
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, m); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := Read(write("ok.png", 8, 8, func(x, y int) bool { return x == 2 && y < 4 }), 8)
	if err != nil || Missing(m) != 4 || m[1*8+2] != 0 || m[5*8+2] != 1 {
		t.Errorf("a 4-pixel hole: %d missing, %v", Missing(m), err)
	}
	for _, c := range []struct{ path, want string }{
		{write("big.png", 9, 8, func(x, y int) bool { return x == 0 }), "is 9×8; the generator makes 8×8"},
		{write("white.png", 8, 8, func(x, y int) bool { return false }), "white everywhere"},
		{filepath.Join(dir, "none.png"), "no such file"},
	} {
		if _, err := Read(c.path, 8); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", filepath.Base(c.path), err, c.want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.png"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(filepath.Join(dir, "bad.png"), 8); err == nil || !strings.Contains(err.Error(), "does not decode") {
		t.Errorf("a file that is no image: %v", err)
	}
}

// Weighted: a known pixel weighs the share of its 7×7 window in the hole,
// so those next to the hole weigh most, those beyond the window and the
// hole itself nothing.
func TestWeighted(t *testing.T) {
	const s = 28
	m, _ := Named("center", s, 1) // the hole: x and y in [7, 21)
	w := Weighted(m, s)
	for _, c := range []struct {
		x, y int
		want float32
	}{
		{14, 14, 0},      // in the hole
		{0, 0, 0},        // far from it
		{3, 14, 0},       // its window, x 0 to 6, just misses the hole
		{4, 14, 7. / 49}, // one column of the window in the hole
		{6, 14, 21. / 49},
		{6, 6, 9. / 49}, // the corner: 3×3 of the window
	} {
		if got := w[c.y*s+c.x]; got != c.want {
			t.Errorf("pixel (%d, %d) weighs %g, want %g", c.x, c.y, got, c.want)
		}
	}
}
