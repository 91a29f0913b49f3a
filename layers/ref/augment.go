package ref

// The twins of shaders/include/augment.glsl and shaders/mirror.comp.

// Augment's transforms by bit, as layers.AugmentOps numbers them.
const (
	AugBrightness = 1 << iota
	AugSaturation
	AugContrast
	AugTranslation
	AugCutout
)

// AugmentDraw is one sample's augmentation: brightness B, saturation S,
// contrast C (0, 1, 1 when off), the shift (TX, TY) and the cutout's first
// row and column (H, W when off).
type AugmentDraw struct {
	B, S, C        float64
	TX, TY, CY, CX int
}

// DrawAugment is augment_draw's draw for global row row of a batch of
// h×w images, at (seed, step, stream), with each of ops applying with
// probability p. The strengths are the device's float32 values.
func DrawAugment(ops uint32, p float32, h, w int, seed uint64, step, stream uint32, row int) AugmentDraw {
	w0 := Philox([4]uint32{uint32(row), stream, step, 2}, key(seed))
	w1 := Philox([4]uint32{uint32(row), stream, step, 3}, key(seed))
	w2 := Philox([4]uint32{uint32(row), stream, step, 4}, key(seed))
	on := func(op uint32, word uint32) bool { return ops&op != 0 && float32(Uniform01(word)) <= p }
	u := func(word uint32) float32 { return float32(Uniform01(word)) }
	d := AugmentDraw{S: 1, C: 1, CY: h, CX: w}
	if on(AugBrightness, w0[0]) {
		d.B = float64(u(w1[1]) - 0.5)
	}
	if on(AugSaturation, w0[1]) {
		d.S = float64(2 * u(w1[2]))
	}
	if on(AugContrast, w0[2]) {
		d.C = float64(u(w1[3]) + 0.5)
	}
	sh, sw := (h+4)/8, (w+4)/8
	ch, cw := (h+1)/2, (w+1)/2
	if on(AugTranslation, w0[3]) {
		d.TX = int(w2[0]%uint32(2*sw+1)) - sw
		d.TY = int(w2[1]%uint32(2*sh+1)) - sh
	}
	if on(AugCutout, w1[0]) {
		d.CY = int(w2[2]%uint32(h+1-ch%2)) - ch/2
		d.CX = int(w2[3]%uint32(w+1-cw%2)) - cw/2
	}
	return d
}

// Augment is DiffAugment's pipeline on n c×h×w images, step by step as
// DiffAugment_pytorch.py writes it: brightness, saturation, contrast,
// translation (zero-filled), cutout.
func Augment(x []float64, n, c, h, w int, draws []AugmentDraw) []float64 {
	y := make([]float64, len(x))
	img := make([]float64, c*h*w)
	for s := range n {
		d := draws[s]
		copy(img, x[s*c*h*w:(s+1)*c*h*w])
		for i := range img {
			img[i] += d.B
		}
		for p := range h * w { // saturation: around each pixel's channel mean
			m := 0.0
			for ch := range c {
				m += img[ch*h*w+p]
			}
			m /= float64(c)
			for ch := range c {
				img[ch*h*w+p] = (img[ch*h*w+p]-m)*d.S + m
			}
		}
		m := 0.0 // contrast: around the image's mean
		for _, v := range img {
			m += v
		}
		m /= float64(len(img))
		for i := range img {
			img[i] = (img[i]-m)*d.C + m
		}
		for ch := range c {
			for i := range h {
				for j := range w {
					si, sj := i+d.TY, j+d.TX
					cut := i >= d.CY && i < d.CY+(h+1)/2 && j >= d.CX && j < d.CX+(w+1)/2
					if si >= 0 && si < h && sj >= 0 && sj < w && !cut {
						y[((s*c+ch)*h+i)*w+j] = img[(ch*h+si)*w+sj]
					}
				}
			}
		}
	}
	return y
}

// AugmentBackward is ∂L/∂x of Augment from dy = ∂L/∂y.
func AugmentBackward(dy []float64, n, c, h, w int, draws []AugmentDraw) []float64 {
	dx := make([]float64, len(dy))
	g := make([]float64, c*h*w)
	for s := range n {
		d := draws[s]
		clear(g)
		for ch := range c { // back through cutout and translation
			for i := range h {
				for j := range w {
					si, sj := i+d.TY, j+d.TX
					cut := i >= d.CY && i < d.CY+(h+1)/2 && j >= d.CX && j < d.CX+(w+1)/2
					if si >= 0 && si < h && sj >= 0 && sj < w && !cut {
						g[(ch*h+si)*w+sj] += dy[((s*c+ch)*h+i)*w+j]
					}
				}
			}
		}
		m := 0.0 // contrast: c·g + (1 − c)·mean(g)
		for _, v := range g {
			m += v
		}
		m /= float64(len(g))
		for i := range g {
			g[i] = d.C*g[i] + (1-d.C)*m
		}
		for p := range h * w { // saturation: s·g + (1 − s)·mean_c(g)
			m := 0.0
			for ch := range c {
				m += g[ch*h*w+p]
			}
			m /= float64(c)
			for ch := range c {
				g[ch*h*w+p] = d.S*g[ch*h*w+p] + (1-d.S)*m
			}
		}
		copy(dx[s*c*h*w:], g) // brightness: the identity
	}
	return dx
}

// Mirror is mirror.comp: each of n c×h×w images flipped left-right when
// its coin at (seed, step, stream) and global row first+s comes up.
func Mirror(x []float64, n, c, h, w int, seed uint64, step, stream uint32, first int) []float64 {
	y := make([]float64, len(x))
	for s := range n {
		flip := Philox([4]uint32{uint32(first + s), stream, step, 5}, key(seed))[0]>>31 == 1
		for r := range c * h {
			row := (s*c*h + r) * w
			for j := range w {
				src := j
				if flip {
					src = w - 1 - j
				}
				y[row+j] = x[row+src]
			}
		}
	}
	return y
}
