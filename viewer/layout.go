package viewer

import "github.com/gan-vk/gan-vk/layers"

// panelWidth is the side panel's width in unscaled pixels; gridMargin the
// space around the grid.
const (
	panelWidth = 300
	gridMargin = 8
	gridPad    = 2 // gan.Grid's gap between images
)

// Layout places the grid of n images of side s, cols to a row, and the
// panel in a w×h frame for a content scale of scale: the panel on the right
// of a wide frame and at the bottom of a tall one, and the grid scaled
// (nearest-neighbour, keeping its shape) to fill the rest. The images'
// fields (N, Cols, C, S, Pad) and the pixel order are the caller's to set.
func Layout(w, h, scale, n, cols, s int) layers.FrameLayout {
	scale = max(1, scale)
	l := layers.FrameLayout{W: uint32(w), H: uint32(h), Scale: uint32(scale), Background: 0xff201c1c}
	var ax, ay, aw, ah int // the grid's area
	if pw := panelWidth * scale; w >= h || w < 2*pw {
		pw = min(pw, w-w%scale)
		l.PX, l.PY, l.PW, l.PH = uint32(w-pw), 0, uint32(pw), uint32(h-h%scale)
		aw, ah = w-pw, h
	} else {
		ph := min(h/2, 340*scale)
		ph -= ph % scale
		l.PX, l.PY, l.PW, l.PH = 0, uint32(h-ph), uint32(w-w%scale), uint32(ph)
		aw, ah = w, h-ph
	}
	m := gridMargin * scale
	ax, ay, aw, ah = ax+m, ay+m, aw-2*m, ah-2*m
	if n <= 0 || cols <= 0 || s <= 0 || aw <= 0 || ah <= 0 {
		return l
	}
	rows := (n + cols - 1) / cols
	lw, lh := cols*(s+gridPad)+gridPad, rows*(s+gridPad)+gridPad
	// The largest size with the grid's shape that fits: gw/lw = gh/lh.
	gw, gh := aw, aw*lh/lw
	if gh > ah {
		gw, gh = ah*lw/lh, ah
	}
	if gw <= 0 || gh <= 0 {
		return l
	}
	l.GX, l.GY = uint32(ax+(aw-gw)/2), uint32(ay+(ah-gh)/2)
	l.GW, l.GH = uint32(gw), uint32(gh)
	l.N, l.Cols, l.S, l.Pad = uint32(n), uint32(cols), uint32(s), gridPad
	return l
}
