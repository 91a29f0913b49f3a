package viewer

import (
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/gan-vk/gan-vk/gan/live"
	"github.com/gan-vk/gan-vk/gan/run"
)

// counts how many pixels of r are c.
func count(img *image.RGBA, r image.Rectangle, c [4]uint8) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.Pix[img.PixOffset(x, y):]
			if [4]uint8{p[0], p[1], p[2], p[3]} == c {
				n++
			}
		}
	}
	return n
}

// A run scored with --score-every gets a third plot, of FD, under the
// two of the losses and probabilities.
func TestPanelPlotsFD(t *testing.T) {
	var hist []run.Metric
	for step := 1; step <= 40; step++ {
		m := run.Metric{Step: step, DLoss: 1.3, GLoss: 0.7, DX: 0.6, DGZ: 0.4}
		if step%10 == 0 {
			m.FD, m.FDRaw = 40/float64(step), 60/float64(step)
		}
		hist = append(hist, m)
	}
	draw := func(h []run.Metric) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 300, 700))
		drawPanel(img, live.Snapshot{Step: 40, Total: 100, History: h, Training: true}, panelState{})
		return img
	}
	unscored := make([]run.Metric, len(hist))
	for i, m := range hist {
		m.FD, m.FDRaw = 0, 0
		unscored[i] = m
	}
	plain, scored := draw(unscored), draw(hist)
	if path := os.Getenv("GAN_VK_PANEL_PNG"); path != "" { // to look at it
		f, _ := os.Create(path)
		png.Encode(f, scored)
		f.Close()
	}
	bottom := image.Rect(0, 500, 300, 680)
	raw := [4]uint8{colG.R, colG.G, colG.B, colG.A}
	if a, b := count(plain, bottom, raw), count(scored, bottom, raw); b <= a+20 {
		t.Errorf("the bottom of the panel has %d pixels of the second curve's colour with scores, %d without: no FD plot", b, a)
	}
}
