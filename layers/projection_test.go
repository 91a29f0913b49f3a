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

// The projection term against the float64 reference: the logits gain it,
// and its gradient with respect to the features adds to what was there.
func TestProjection(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct{ n, k int }{{2, 3}, {16, 8192}, {5, 65}} {
		t.Run(fmt.Sprintf("%d×%d", c.n, c.k), func(t *testing.T) {
			p, err := layers.NewProjection(d, c.n, c.k)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			r := rand.New(rand.NewSource(int64(c.k)))
			logit, dl := rnd(r, c.n, 1), rnd(r, c.n, 1)
			h, e, before := rnd(r, c.n*c.k, 1), rnd(r, c.n*c.k, 0.1), rnd(r, c.n*c.k, 1)
			bl, bdl, bh, be := upload(t, d, "logit", logit), upload(t, d, "dl", dl), upload(t, d, "h", h), upload(t, d, "e", e)
			bdh, bde := upload(t, d, "dh", before), alloc(t, d, "de", c.n*c.k)
			run(t, d, func(s *vk.Sequence) {
				p.Forward(s, bl, bh, be)
				p.Backward(s, bdh, bde, bdl, bh, be)
			})
			dh, de := ref.ProjectionBackward(dl, h, e, c.k)
			for i := range dh {
				dh[i] += before[i]
			}
			expect(t, "logit", bl, ref.Projection(logit, h, e, c.k), ref.Sum)
			expect(t, "dh", bdh, dh, ref.Pointwise)
			expect(t, "de", bde, de, ref.Pointwise)
		})
	}
	if _, err := layers.NewProjection(d, 2, 0); err == nil {
		t.Error("no features: no error")
	}
}
