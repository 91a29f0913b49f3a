package gan

import (
	"math/rand"
	"testing"
)

// A grid PNG read back gives the images Grid drew, to the byte.
func TestReadGrid(t *testing.T) {
	for _, c := range []int{1, 3} {
		const n, s = 10, 7
		r := rand.New(rand.NewSource(int64(c)))
		imgs := make([]float32, n*c*s*s)
		for i := range imgs {
			imgs[i] = float32(r.Float64()*2 - 1)
		}
		got, m, err := gridImages(Grid(imgs, n, c, s, 4), c, s)
		if err != nil {
			t.Fatal(err)
		}
		if m != 12 { // 3 rows of 4: the last two cells are empty
			t.Fatalf("%d channels: read %d cells, want 12", c, m)
		}
		for i, v := range imgs {
			if toByte(got[i]) != toByte(v) {
				t.Fatalf("%d channels: value %d reads back as %g, was %g", c, i, got[i], v)
			}
		}
	}
	if _, _, err := gridImages(Grid(make([]float32, 4*49), 4, 1, 7, 2), 1, 8); err == nil {
		t.Error("a grid of 7-pixel images read as 8-pixel ones")
	}
}
