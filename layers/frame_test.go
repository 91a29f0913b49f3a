package layers_test

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// The frame shader paints what ref.Frame paints: grids of gray and colour
// images at whole and fractional scales, an incomplete last row, a panel
// scaled by 2, and both byte orders.
func TestFrame(t *testing.T) {
	d := vktest.Open(t)
	f, err := layers.NewFrame(d)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases := []layers.FrameLayout{
		{W: 97, H: 61, Background: 0xff302010, GX: 3, GY: 2, GW: 58, GH: 58, N: 4, Cols: 2, C: 1, S: 7, Pad: 2,
			PX: 61, PY: 0, PW: 36, PH: 60, Scale: 2},
		{W: 120, H: 90, BGRA: 1, Background: 0xff112233, GX: 0, GY: 5, GW: 73, GH: 50, N: 5, Cols: 3, C: 3, S: 9, Pad: 2,
			PX: 80, PY: 10, PW: 39, PH: 78, Scale: 3},
		{W: 64, H: 64, GX: 0, GY: 0, GW: 64, GH: 64, N: 1, Cols: 1, C: 3, S: 32, Pad: 0, PX: 0, PY: 0, PW: 0, PH: 0, Scale: 1},
	}
	r := rand.New(rand.NewSource(1))
	for ci, l := range cases {
		grid := make([]float32, l.N*l.C*l.S*l.S)
		for i := range grid {
			grid[i] = float32(r.Float64()*2.4 - 1.2) // past [-1, 1] too: clamped
		}
		grid[0], grid[1] = -1, 1
		panel := make([]uint32, max(1, l.PanelPixels()))
		for i := range panel {
			panel[i] = r.Uint32()
		}
		g64 := make([]float64, len(grid))
		for i, v := range grid {
			g64[i] = float64(v)
		}
		gb, pb, ob := upload(t, d, "grid", g64), alloc(t, d, "panel", len(panel)), alloc(t, d, "frame", int(l.W*l.H))
		raw := make([]byte, 4*len(panel))
		for i, v := range panel {
			binary.LittleEndian.PutUint32(raw[4*i:], v)
		}
		if err := pb.Upload(0, raw); err != nil {
			t.Fatal(err)
		}
		run(t, d, func(s *vk.Sequence) { f.Paint(s, ob, gb, pb, l) })
		raw = make([]byte, ob.Size())
		if err := ob.Download(0, raw); err != nil {
			t.Fatal(err)
		}
		want := ref.Frame(ref.FrameLayout(l), grid, panel)
		bad := 0
		for i, w := range want {
			g := binary.LittleEndian.Uint32(raw[4*i:])
			// float32 on the device, float64 in the reference: a value on a
			// rounding boundary may land one step apart, never more.
			for sh := 0; sh < 32; sh += 8 {
				a, b := int(g>>sh&0xff), int(w>>sh&0xff)
				if a-b > 1 || b-a > 1 {
					if bad < 5 {
						t.Errorf("case %d: pixel (%d, %d) is %08x, want %08x", ci, i%int(l.W), i/int(l.W), g, w)
					}
					bad++
					break
				}
			}
		}
		if bad > 0 {
			t.Errorf("case %d: %d of %d pixels differ", ci, bad, len(want))
		}
	}
}
