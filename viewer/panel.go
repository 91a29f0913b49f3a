package viewer

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan/live"
	"github.com/gan-vk/gan-vk/gan/run"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Keys is the key list, for the window's help (H) and the commands' --help.
const Keys = `Space  pause or resume training
S      save the grid as a PNG (samples/)
N      a new random z
I      walk through latent space (slerp)
+ -    a bigger or smaller grid
F      real images or the generator's
H      show or hide this list
Esc Q  quit (training: checkpoint first)`

var (
	colBack  = color.RGBA{0x1c, 0x1c, 0x20, 0xff}
	colText  = color.RGBA{0xe0, 0xe0, 0xe0, 0xff}
	colDim   = color.RGBA{0x90, 0x90, 0x98, 0xff}
	colAxis  = color.RGBA{0x50, 0x50, 0x58, 0xff}
	colD     = color.RGBA{0xff, 0x9f, 0x40, 0xff} // D's loss, and D(x)
	colG     = color.RGBA{0x50, 0xa0, 0xff, 0xff} // G's loss, and D(G(z))
	colAlert = color.RGBA{0xff, 0xd0, 0x40, 0xff}
)

// panelState is what the panel shows beyond the snapshot.
type panelState struct {
	help    bool
	cols    int
	shown   int // images in the grid
	message string
}

// drawPanel paints the side panel: numbers, the run's curves, the state.
func drawPanel(img *image.RGBA, s live.Snapshot, p panelState) {
	draw.Draw(img, img.Bounds(), image.NewUniform(colBack), image.Point{}, draw.Src)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	t := &textWriter{img: img, x: 10, y: 18}
	t.line(colText, "%s", "gan-vk")
	if s.Run != "" {
		t.line(colDim, "%s", clip(s.Run, (w-20)/7))
	}
	t.gap()
	if s.Total > 0 {
		t.line(colText, "step %d / %d   epoch %.2f", s.Step, s.Total, s.Epoch)
	} else {
		t.line(colText, "step %d   epoch %.2f", s.Step, s.Epoch)
	}
	elapsed := "-"
	if s.Elapsed > 0 {
		elapsed = s.Elapsed.Round(time.Second).String()
	}
	t.line(colText, "%.1f img/s   %s", s.ImgPerS, elapsed)
	if n := len(s.History); n > 0 {
		m := s.History[n-1]
		t.line(colD, "D loss %.3f   D(x)    %.2f", m.DLoss, m.DX)
		t.line(colG, "G loss %.3f   D(G(z)) %.2f", m.GLoss, m.DGZ)
		if m.AugmentP != nil && m.RT != nil { // a run that augments
			t.line(colText, "augment p %.3f   r_t %.2f", *m.AugmentP, *m.RT)
		}
	}
	scored := scoredSteps(s.History)
	if n := len(scored); n > 0 {
		if m := scored[n-1]; m.FD > 0 {
			t.line(colD, "FD %.2f (raw %.2f) at step %d", m.FD, m.FDRaw, m.Step)
		} else { // no EMA generator
			t.line(colG, "FD %.2f at step %d", m.FDRaw, m.Step)
		}
	}
	t.gap()
	switch {
	case s.Paused:
		t.line(colAlert, "PAUSED: Space resumes")
	case s.Training:
		t.line(colText, "training")
	case s.Done:
		t.line(colText, "finished")
	default:
		t.line(colText, "viewing (not training here)")
	}
	if s.N > 0 {
		t.line(colDim, "%d images: %s", p.shown, clip(s.GridFrom, (w-20)/7-12))
		if !s.Real {
			t.line(colDim, "generator of step %d", s.GridStep)
			if len(s.Rows) > 0 {
				for _, l := range wrap("rows: "+strings.Join(s.Rows, ", "), (w-20)/7) {
					t.line(colDim, "%s", l)
				}
			}
		}
	}
	for _, msg := range []string{s.Status, p.message} {
		for _, l := range wrap(msg, (w-20)/7) {
			t.line(colAlert, "%s", l)
		}
	}
	t.gap()
	if p.help {
		t.line(colText, "Keys")
		for _, l := range strings.Split(Keys, "\n") {
			t.line(colDim, "%s", l)
		}
		return
	}
	// The plots, each under its legend line (FD's once the run has been
	// scored), then the key hint.
	plots := 2
	if len(scored) > 0 {
		plots = 3
	}
	left := h - t.y - 24
	if left < 50*plots {
		t.line(colDim, "H: keys")
		return
	}
	ph := (left - 16 - 28*(plots-1)) / plots
	r := image.Rect(10, t.y+16, w-10, t.y+16+ph)
	plot(img, r, s.History, "loss: D", "G", func(m run.Metric) (float64, float64) { return float64(m.DLoss), float64(m.GLoss) }, false)
	r = r.Add(image.Pt(0, ph+28))
	plot(img, r, s.History, "D(x)", "D(G(z))", func(m run.Metric) (float64, float64) { return float64(m.DX), float64(m.DGZ) }, true)
	if plots == 3 {
		r = r.Add(image.Pt(0, ph+28))
		plot(img, r, scored, "FD: EMA", "raw", func(m run.Metric) (float64, float64) { return m.FD, m.FDRaw }, false)
	}
	t.y = r.Max.Y + 18
	t.line(colDim, "H: keys")
}

// scoredSteps are the metrics of the steps --score-every scored.
func scoredSteps(hist []run.Metric) []run.Metric {
	var out []run.Metric
	for _, m := range hist {
		if m.FDRaw > 0 {
			out = append(out, m)
		}
	}
	return out
}

// plot draws two series over the whole run into r: each pixel column shows
// the range of its steps, so a long run keeps its spread. unit fixes the
// scale to [0, 1].
func plot(img *image.RGBA, r image.Rectangle, hist []run.Metric, nameA, nameB string, at func(run.Metric) (float64, float64), unit bool) {
	frame(img, r, colAxis)
	lo, hi := 0.0, 1.0
	if !unit {
		hi = 0
		for _, m := range hist {
			a, b := at(m)
			hi = max(hi, finiteOr(a, 0), finiteOr(b, 0))
		}
		hi = max(hi*1.15, 1e-3)
	}
	label := &textWriter{img: img, x: r.Min.X, y: r.Min.Y - 4}
	label.text(colD, "%s", nameA)
	label.text(colG, " %s", nameB)
	label.text(colDim, "   max %.2f", hi)
	n := len(hist)
	iw := r.Dx() - 2
	if n == 0 || iw <= 0 {
		return
	}
	yOf := func(v float64) int {
		f := (finiteOr(v, lo) - lo) / (hi - lo)
		return r.Max.Y - 2 - int(math.Round(max(0, min(1, f))*float64(r.Dy()-4)))
	}
	for col := 0; col < iw; col++ {
		i0, i1 := col*n/iw, (col+1)*n/iw
		if i1 <= i0 {
			if n >= iw {
				continue
			}
			i1 = i0 + 1
		}
		for k, c := range []color.RGBA{colD, colG} {
			top, bot := math.Inf(1), math.Inf(-1)
			for _, m := range hist[i0:min(i1, n)] {
				a, b := at(m)
				v := a
				if k == 1 {
					v = b
				}
				top, bot = min(top, float64(yOf(v))), max(bot, float64(yOf(v)))
			}
			for y := int(top); y <= int(bot); y++ {
				img.SetRGBA(r.Min.X+1+col, y, c)
			}
		}
	}
}

func finiteOr(v, alt float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return alt
	}
	return v
}

func frame(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}

// textWriter writes lines of basicfont's 7×13 glyphs down the panel.
type textWriter struct {
	img  *image.RGBA
	x, y int
	dx   int // how far along the current line text() has written
}

func (t *textWriter) text(c color.RGBA, format string, args ...any) {
	d := font.Drawer{Dst: t.img, Src: image.NewUniform(c), Face: basicfont.Face7x13,
		Dot: fixed.P(t.x+t.dx, t.y)}
	s := fmt.Sprintf(format, args...)
	d.DrawString(s)
	t.dx += 7 * len([]rune(s))
}

func (t *textWriter) line(c color.RGBA, format string, args ...any) {
	t.text(c, format, args...)
	t.y += 15
	t.dx = 0
}

func (t *textWriter) gap() { t.y += 6 }

// clip shortens s to n characters, keeping its end (the informative part of
// a path).
func clip(s string, n int) string {
	r := []rune(s)
	if n <= 3 || len(r) <= n {
		return s
	}
	return "..." + string(r[len(r)-n+3:])
}

// wrap breaks s into lines of at most n characters at spaces.
func wrap(s string, n int) []string {
	if s == "" || n < 8 {
		return nil
	}
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		for len([]rune(w)) > n {
			out = append(out, string([]rune(w)[:n]))
			w = string([]rune(w)[n:])
		}
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			out = append(out, line)
			line = w
		}
	}
	return append(out, line)
}
