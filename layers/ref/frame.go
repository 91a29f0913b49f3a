package ref

import "math"

// FrameLayout is layers.FrameLayout (the same fields, so one converts to the
// other).
type FrameLayout struct {
	W, H, BGRA, Background uint32
	GX, GY, GW, GH         uint32
	N, Cols, C, S, Pad     uint32
	PX, PY, PW, PH, Scale  uint32
}

// toByte is gan.toByte, written again: round((v+1)·127.5), clamped.
func toByte(v float32) uint32 {
	return uint32(max(0, min(255, math.Round(float64(v+1)*127.5))))
}

// Frame paints what shaders/frame.comp paints: W×H pixels, each a 32-bit
// word of bytes R, G, B, A (B, G, R, A when BGRA is set).
func Frame(l FrameLayout, grid []float32, panel []uint32) []uint32 {
	out := make([]uint32, l.W*l.H)
	rows := (l.N + l.Cols - 1) / l.Cols
	cell := l.S + l.Pad
	lw, lh := l.Cols*cell+l.Pad, rows*cell+l.Pad
	const black = 0xff000000
	gridPixel := func(x, y uint32) uint32 {
		lx, ly := (x-l.GX)*lw/l.GW, (y-l.GY)*lh/l.GH
		if lx < l.Pad || ly < l.Pad {
			return black
		}
		tx, ty := lx-l.Pad, ly-l.Pad
		ix, iy, i := tx%cell, ty%cell, (ty/cell)*l.Cols+tx/cell
		if ix >= l.S || iy >= l.S || i >= l.N {
			return black
		}
		at := (i*l.C*l.S+iy)*l.S + ix
		r := toByte(grid[at])
		if l.C == 1 {
			return black | r<<16 | r<<8 | r
		}
		return black | toByte(grid[at+2*l.S*l.S])<<16 | toByte(grid[at+l.S*l.S])<<8 | r
	}
	for y := uint32(0); y < l.H; y++ {
		for x := uint32(0); x < l.W; x++ {
			v := l.Background
			switch {
			case x >= l.GX && x < l.GX+l.GW && y >= l.GY && y < l.GY+l.GH:
				v = gridPixel(x, y)
			case x >= l.PX && x < l.PX+l.PW && y >= l.PY && y < l.PY+l.PH:
				v = panel[((y-l.PY)/l.Scale)*(l.PW/l.Scale)+(x-l.PX)/l.Scale]
			}
			if l.BGRA != 0 {
				v = v&0xff00ff00 | (v&0xff)<<16 | (v>>16)&0xff
			}
			out[y*l.W+x] = v
		}
	}
	return out
}
