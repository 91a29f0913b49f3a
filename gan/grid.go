package gan

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
)

// toByte maps a value of tanh's range [-1, 1] to a pixel byte.
func toByte(v float32) uint8 {
	x := math.Round(float64(v+1) * 127.5)
	return uint8(max(0, min(255, x)))
}

// Image turns image i of a batch (NCHW floats in [-1, 1]) into an image.
func Image(batch []float32, i, c, s int) image.Image {
	at := func(ch, y, x int) uint8 { return toByte(batch[((i*c+ch)*s+y)*s+x]) }
	if c == 1 {
		m := image.NewGray(image.Rect(0, 0, s, s))
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				m.Pix[y*m.Stride+x] = at(0, y, x)
			}
		}
		return m
	}
	m := image.NewRGBA(image.Rect(0, 0, s, s))
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			m.SetRGBA(x, y, color.RGBA{at(0, y, x), at(1, y, x), at(2, y, x), 255})
		}
	}
	return m
}

// gridPad is the gap between images in a grid, in pixels.
const gridPad = 2

// Grid lays n images of a batch out in rows of cols, with a gap between
// them.
func Grid(batch []float32, n, c, s, cols int) image.Image {
	rows := (n + cols - 1) / cols
	w, h := cols*(s+gridPad)+gridPad, rows*(s+gridPad)+gridPad
	var out interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	if c == 1 {
		out = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		out = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	for i := 0; i < n; i++ {
		img := Image(batch, i, c, s)
		x0, y0 := gridPad+(i%cols)*(s+gridPad), gridPad+(i/cols)*(s+gridPad)
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				out.Set(x0+x, y0+y, img.At(x, y))
			}
		}
	}
	return out
}

// WritePNG writes an image to path atomically, so a reader (the viewer
// following a run) never sees half a PNG.
func WritePNG(path string, m image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, m) })
}

// ReadGrid reads a grid PNG that Grid wrote back into images: c×s×s floats
// in [-1, 1] for every cell of the grid, and how many cells it has.
func ReadGrid(path string, c, s int) ([]float32, int, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer file.Close()
	m, err := png.Decode(file)
	if err != nil {
		return nil, 0, err
	}
	return gridImages(m, c, s)
}

func gridImages(m image.Image, c, s int) ([]float32, int, error) {
	b := m.Bounds()
	cell := s + gridPad
	cols, rows := (b.Dx()-gridPad)/cell, (b.Dy()-gridPad)/cell
	if cols < 1 || rows < 1 || cols*cell+gridPad != b.Dx() || rows*cell+gridPad != b.Dy() {
		return nil, 0, fmt.Errorf("a %d×%d image is not a grid of %d×%d images", b.Dx(), b.Dy(), s, s)
	}
	n := cols * rows
	out := make([]float32, n*c*s*s)
	for i := 0; i < n; i++ {
		x0, y0 := b.Min.X+gridPad+(i%cols)*cell, b.Min.Y+gridPad+(i/cols)*cell
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				r, g, bl, _ := m.At(x0+x, y0+y).RGBA()
				v := [3]uint32{r, g, bl}
				for ch := 0; ch < c; ch++ {
					out[((i*c+ch)*s+y)*s+x] = float32(v[ch]>>8)/127.5 - 1
				}
			}
		}
	}
	return out, n, nil
}
