package layers_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// Spectral norm's power iteration, σ, W/σ and backward against the
// float64 reference, for a dense layer's one row, a conv's weight over
// several ⟨G, W_sn⟩ chunks, and odd sizes; then σ again from the kept
// vectors (Estimate), as a loaded checkpoint takes it.
func TestSpectralNorm(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct{ rows, cols int }{{1, 4096}, {5, 7}, {64, 1600}, {33, 4099}} {
		t.Run(fmt.Sprintf("%d×%d", c.rows, c.cols), func(t *testing.T) {
			sn, err := layers.NewSpectralNorm(d, c.rows, c.cols)
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Close()
			r := rand.New(rand.NewSource(int64(c.rows)))
			w, g := rnd(r, c.rows*c.cols, 0.02), rnd(r, c.rows*c.cols, 1)
			u, v := rnd(r, c.rows, 1), rnd(r, c.cols, 1)
			bw, bg, bu, bv := upload(t, d, "w", w), upload(t, d, "g", g), upload(t, d, "u", u), upload(t, d, "v", v)
			bwsn := alloc(t, d, "wsn", c.rows*c.cols)
			run(t, d, func(s *vk.Sequence) {
				sn.Iterate(s, bu, bv, bw)
				sn.Apply(s, bwsn, bw)
				sn.Backward(s, bg, bwsn, bu, bv)
			})
			wsn, sigma := ref.SpectralNorm(w, u, v, c.rows, c.cols, true)
			expect(t, "v", bv, v, ref.Sum)
			expect(t, "u", bu, u, ref.Sum)
			expect(t, "σ", sn.Sigma(), []float64{sigma}, ref.Sum)
			expect(t, "W_sn", bwsn, wsn, ref.Sum)
			expect(t, "∂L/∂W", bg, ref.SpectralNormBackward(g, wsn, u, v, sigma), ref.Sum)

			// σ from the vectors the iteration left, without another.
			gu, gv := download(t, bu, c.rows), download(t, bv, c.cols)
			run(t, d, func(s *vk.Sequence) {
				sn.Estimate(s, bu, bv, bw)
				sn.Apply(s, bwsn, bw)
			})
			wsn, sigma = ref.SpectralNorm(w, gu, gv, c.rows, c.cols, false)
			expect(t, "u kept", bu, gu, ref.Exact)
			expect(t, "σ kept", sn.Sigma(), []float64{sigma}, ref.Sum)
			expect(t, "W_sn kept", bwsn, wsn, ref.Sum)
		})
	}
	if _, err := layers.NewSpectralNorm(d, 0, 3); err == nil {
		t.Error("a 0×3 weight: no error")
	}
}
