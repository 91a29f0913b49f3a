package layers

import (
	"fmt"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// FrameLayout places what a viewer's frame shows, in frame pixels: a grid of
// images scaled nearest-neighbour into the rectangle (GX, GY, GW, GH), and a
// panel of RGBA8 pixels, (PW/Scale)×(PH/Scale) of them, scaled by Scale into
// (PX, PY, PW, PH). The rest is Background (R | G<<8 | B<<16 | A<<24). A
// zero GW shows no grid.
type FrameLayout struct {
	W, H, BGRA, Background uint32
	GX, GY, GW, GH         uint32
	N, Cols, C, S, Pad     uint32 // n images of C×S×S, Cols to a row, Pad pixels apart
	PX, PY, PW, PH, Scale  uint32
}

func (l FrameLayout) check() error {
	switch {
	case l.W == 0 || l.H == 0:
		return fmt.Errorf("frame %d×%d is empty", l.W, l.H)
	case l.GW > 0 && (l.N == 0 || l.Cols == 0 || l.S == 0 || l.GH == 0):
		return fmt.Errorf("grid %d×%d of %d images, %d to a row, of side %d is empty", l.GW, l.GH, l.N, l.Cols, l.S)
	case l.GW > 0 && l.C != 1 && l.C != 3:
		return fmt.Errorf("images have %d channels; 1 or 3", l.C)
	case l.Scale == 0 || l.PW%l.Scale != 0 || l.PH%l.Scale != 0:
		return fmt.Errorf("panel %d×%d is not a whole multiple of its scale %d", l.PW, l.PH, l.Scale)
	}
	return nil
}

// PanelPixels is how many pixels the panel buffer holds.
func (l FrameLayout) PanelPixels() int { return int(l.PW/l.Scale) * int(l.PH/l.Scale) }

// Frame paints a viewer's frame on the device (shaders/frame.comp): the
// generator's images go from the device buffer they were made in to the
// pixels a swapchain shows without a trip through the host.
type Frame struct {
	ks parts
	k  *vk.Kernel
}

// NewFrame builds the frame kernel.
func NewFrame(d *vk.Device) (*Frame, error) {
	f := &Frame{ks: parts{dev: d}}
	f.k = f.ks.add("frame", shaders.FrameSpecs{})
	if f.ks.err != nil {
		f.Close()
		return nil, f.ks.err
	}
	return f, nil
}

// Close destroys the kernel.
func (f *Frame) Close() { f.ks.close() }

// Paint records painting out (W×H 32-bit pixels) from grid (N·C·S·S floats)
// and panel (PanelPixels RGBA8 pixels) as l places them.
func (f *Frame) Paint(s *vk.Sequence, out, grid, panel *vk.Buffer, l FrameLayout) {
	if err := l.check(); err != nil {
		panic("layers: frame: " + err.Error())
	}
	need("frame", "grid", grid, int(l.N*l.C*l.S*l.S))
	need("frame", "panel", panel, l.PanelPixels())
	need("frame", "out", out, int(l.W*l.H))
	s.Dispatch(f.k, vk.Groups{X: (l.W + 15) / 16, Y: (l.H + 15) / 16}, l,
		shaders.FrameBindings[*vk.Buffer]{Grid: grid, Panel: panel, Frame: out}.List()...)
}
