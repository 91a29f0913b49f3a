// Package anim writes animated GIFs: a run's sample grids in step order,
// a walk through a generator's latent space. Each frame may carry a label,
// drawn in a strip above the image.
package anim

import (
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"io"
	"time"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Frame is one picture of an animation, shown for Delay.
type Frame struct {
	Image image.Image
	Label string        // drawn above the image; "" draws no strip
	Delay time.Duration // rounded to GIF's hundredths of a second, at least 2
}

// LabelHeight is the strip of pixels a label takes above its frame.
const LabelHeight = 16

// minDelay is the shortest delay, in hundredths, that browsers honour: a
// shorter one is shown at 10 (a tenth of a second).
const minDelay = 2

// Gray is the palette of a grayscale animation: every level, so the
// frames are kept exactly.
var Gray = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i)}
	}
	return p
}()

// Encode writes frames as a GIF that loops forever. All frames must have
// the same size. Grayscale frames (image.Gray) keep every level with the
// Gray palette; colour frames are dithered to Plan 9's 256 colours.
func Encode(w io.Writer, frames []Frame) error {
	if len(frames) == 0 {
		return fmt.Errorf("anim: no frames")
	}
	size := frames[0].Image.Bounds().Size()
	labelled, gray := false, true
	for i, f := range frames {
		if s := f.Image.Bounds().Size(); s != size {
			return fmt.Errorf("anim: frame %d is %d×%d, frame 0 %d×%d", i, s.X, s.Y, size.X, size.Y)
		}
		labelled = labelled || f.Label != ""
		_, g := f.Image.(*image.Gray)
		gray = gray && g
	}
	g := &gif.GIF{LoopCount: 0}
	for _, f := range frames {
		g.Image = append(g.Image, paletted(f, labelled, gray))
		g.Delay = append(g.Delay, delay(f.Delay))
	}
	return gif.EncodeAll(w, g)
}

// Write writes frames as a GIF to path atomically.
func Write(path string, frames []Frame) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, frames) })
}

func delay(d time.Duration) int {
	return max(minDelay, int((d+5*time.Millisecond)/(10*time.Millisecond)))
}

// paletted is one frame with its label strip (when any frame has a label,
// every frame has the strip, so they keep one size), in the animation's
// palette.
func paletted(f Frame, labelled, gray bool) *image.Paletted {
	b := f.Image.Bounds()
	top := 0
	if labelled {
		top = LabelHeight
	}
	p := Gray
	if !gray {
		p = palette.Plan9
	}
	out := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()+top), p)
	dst := image.Rect(0, top, b.Dx(), b.Dy()+top)
	if gray {
		draw.Draw(out, dst, f.Image, b.Min, draw.Src) // exact: the palette has every level
	} else {
		draw.FloydSteinberg.Draw(out, dst, f.Image, b.Min)
	}
	if f.Label != "" {
		d := font.Drawer{Dst: out, Src: image.White, Face: basicfont.Face7x13, Dot: fixed.P(3, 12)}
		d.DrawString(f.Label)
	}
	return out
}
