package anim

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"strings"
	"testing"
	"time"
)

func grayImage(w, h int, seed uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i*37) + seed
	}
	return m
}

// A grayscale animation keeps every pixel, under its label strip, with the
// delays rounded to hundredths and the GIF looping.
func TestEncodeGray(t *testing.T) {
	frames := []Frame{
		{Image: grayImage(40, 30, 0), Label: "step 1", Delay: 125 * time.Millisecond},
		{Image: grayImage(40, 30, 9), Label: "step 2", Delay: time.Millisecond},
		{Image: grayImage(40, 30, 200), Delay: 2 * time.Second},
	}
	var b bytes.Buffer
	if err := Encode(&b, frames); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.LoopCount != 0 {
		t.Fatalf("%d frames, loop count %d; want 3 looping forever", len(g.Image), g.LoopCount)
	}
	if want := []int{13, 2, 200}; g.Delay[0] != want[0] || g.Delay[1] != want[1] || g.Delay[2] != want[2] {
		t.Errorf("delays %v, want %v", g.Delay, want)
	}
	for i, m := range g.Image {
		if len(m.Palette) != 256 || !sameColor(m.Palette[77], color.Gray{Y: 77}) {
			t.Fatalf("frame %d: palette of %d colours, not the 256 grays", i, len(m.Palette))
		}
		if m.Bounds().Dx() != 40 || m.Bounds().Dy() != 30+LabelHeight {
			t.Fatalf("frame %d is %v, want 40×%d", i, m.Bounds(), 30+LabelHeight)
		}
		src := frames[i].Image.(*image.Gray)
		for y := 0; y < 30; y++ {
			for x := 0; x < 40; x++ {
				if got, want := m.At(x, y+LabelHeight), src.GrayAt(x, y); !sameColor(got, want) {
					t.Fatalf("frame %d pixel (%d,%d) = %v, want %v", i, x, y, got, want)
				}
			}
		}
		lit := 0
		for y := 0; y < LabelHeight; y++ {
			for x := 0; x < 40; x++ {
				if m.ColorIndexAt(x, y) != 0 {
					lit++
				}
			}
		}
		if labelled := frames[i].Label != ""; labelled != (lit > 0) {
			t.Errorf("frame %d (label %q): %d lit pixels in the label strip", i, frames[i].Label, lit)
		}
	}
}

func sameColor(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	return ar == br && ag == bg && ab == bb && aa == ba
}

// Colour frames are dithered to a fixed palette: close to the source on
// average.
func TestEncodeColour(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			m.SetRGBA(x, y, color.RGBA{uint8(8 * x), uint8(8 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := Encode(&b, []Frame{{Image: m, Delay: time.Second}}); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(&b)
	if err != nil {
		t.Fatal(err)
	}
	var sum, want [3]float64
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			r, gr, bl, _ := g.Image[0].At(x, y).RGBA()
			sum[0], sum[1], sum[2] = sum[0]+float64(r>>8), sum[1]+float64(gr>>8), sum[2]+float64(bl>>8)
			want[0], want[1], want[2] = want[0]+float64(8*x), want[1]+float64(8*y), want[2]+128
		}
	}
	for c := range sum {
		if d := (sum[c] - want[c]) / 1024; d > 4 || d < -4 {
			t.Errorf("channel %d: mean off by %.1f levels after dithering", c, d)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, nil); err == nil {
		t.Error("no frames: no error")
	}
	err := Encode(&b, []Frame{{Image: grayImage(4, 4, 0)}, {Image: grayImage(5, 4, 0)}})
	if err == nil || !strings.Contains(err.Error(), "frame 1 is 5×4") {
		t.Errorf("frames of two sizes: %v", err)
	}
}
