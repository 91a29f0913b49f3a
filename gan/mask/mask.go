// Package mask makes the masks of image completion: for an S×S image, 1
// where a pixel is known and 0 where it is missing, and from a mask the
// per-pixel weights of the contextual loss.
package mask

import (
	"fmt"
	"image"
	_ "image/jpeg" // a mask may be any image the data loader reads
	_ "image/png"
	"math/rand/v2"
	"os"
	"strings"
)

// Kinds are the masks Named makes, as bamos/dcgan-completion.tensorflow's
// --maskType names them.
var Kinds = []string{"center", "left", "right", "top", "bottom", "random"}

// RandomMissing is the share of pixels a random mask drops (bamos's 0.2).
const RandomMissing = 0.2

// Named is the mask of a kind for s×s images: center drops the middle
// square (from a quarter to three quarters of the side), left, right, top
// and bottom drop that half, random drops each pixel with probability
// RandomMissing, drawn from seed.
func Named(kind string, s int, seed uint64) ([]float32, error) {
	m := make([]float32, s*s)
	r := rand.New(rand.NewPCG(seed, 0x6d61736b))
	lo, hi := s/4, s-s/4
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			var missing bool
			switch kind {
			case "center":
				missing = x >= lo && x < hi && y >= lo && y < hi
			case "left":
				missing = x < s/2
			case "right":
				missing = x >= s/2
			case "top":
				missing = y < s/2
			case "bottom":
				missing = y >= s/2
			case "random":
				missing = r.Float64() < RandomMissing
			default:
				return nil, fmt.Errorf("unknown mask %q: use one of %s, or a PNG file", kind, strings.Join(Kinds, ", "))
			}
			if !missing {
				m[y*s+x] = 1
			}
		}
	}
	return m, nil
}

// Read reads a mask image: white (a luma of at least half) where a pixel
// is known, black where it is missing. It must be s×s, the generator's
// size.
func Read(path string, s int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("the mask %s does not decode: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != s || b.Dy() != s {
		return nil, fmt.Errorf("the mask %s is %d×%d; the generator makes %d×%d images: give a %d×%d mask (white known, black missing)",
			path, b.Dx(), b.Dy(), s, s, s, s)
	}
	m := make([]float32, s*s)
	missing := 0
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if 299*r+587*g+114*bl >= 1000*0x8000 {
				m[y*s+x] = 1
			} else {
				missing++
			}
		}
	}
	if missing == 0 {
		return nil, fmt.Errorf("the mask %s is white everywhere: nothing is missing (black marks the pixels to fill in)", path)
	}
	return m, nil
}

// Window is the side of the neighbourhood Weighted looks at (Yeh et al.'s 7).
const Window = 7

// Weighted is Yeh et al.'s importance weighting of the contextual loss: a
// known pixel weighs the share of missing pixels in the Window×Window
// square around it, so the pixels next to the hole count most and those
// far from it not at all; a missing pixel weighs 0.
func Weighted(m []float32, s int) []float32 {
	w := make([]float32, len(m))
	h := Window / 2
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			if m[y*s+x] == 0 {
				continue
			}
			missing := 0
			for dy := -h; dy <= h; dy++ {
				for dx := -h; dx <= h; dx++ {
					yy, xx := y+dy, x+dx
					if yy >= 0 && yy < s && xx >= 0 && xx < s && m[yy*s+xx] == 0 {
						missing++
					}
				}
			}
			w[y*s+x] = float32(missing) / float32(Window*Window)
		}
	}
	return w
}

// Missing counts a mask's missing pixels.
func Missing(m []float32) int {
	n := 0
	for _, v := range m {
		if v == 0 {
			n++
		}
	}
	return n
}
