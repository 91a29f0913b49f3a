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

// Conditional batch norm's affine step, forward and backward, against the
// float64 reference: with each activation a generator fuses after it, a
// row longer than a workgroup, and the gradient in place (dx = dy).
func TestClassAffine(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct {
		n, ch, l int
		act      layers.Activation
		inPlace  bool
	}{{2, 3, 5, layers.LeakyReLU(0.2), false}, {4, 8, 300, layers.Activation{}, true}, {3, 2, 64, layers.ReLU, true}} {
		t.Run(fmt.Sprintf("%d×%d×%d act %d in place %v", c.n, c.ch, c.l, c.act.Act, c.inPlace), func(t *testing.T) {
			a, err := layers.NewClassAffine(d, c.n, c.ch, c.l, c.act)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			r := rand.New(rand.NewSource(int64(c.l)))
			count := c.n * c.ch * c.l
			x, dy := rnd(r, count, 1), rnd(r, count, 1)
			gain, bias := rnd(r, c.n*c.ch, 1), rnd(r, c.n*c.ch, 0.5)
			for i := range gain {
				gain[i] += 1
			}
			bx, bg, bb, by, bdy := upload(t, d, "x", x), upload(t, d, "gain", gain), upload(t, d, "bias", bias), alloc(t, d, "y", count), upload(t, d, "dy", dy)
			bdx, bdg, bdb := bdy, alloc(t, d, "dgain", c.n*c.ch), alloc(t, d, "dbias", c.n*c.ch)
			if !c.inPlace {
				bdx = alloc(t, d, "dx", count)
			}
			run(t, d, func(s *vk.Sequence) {
				a.Forward(s, by, bx, bg, bb)
				a.Backward(s, bdx, bdg, bdb, bdy, bx, by, bg)
			})
			slope := float64(c.act.Slope)
			y, pre := ref.ClassAffine(x, gain, bias, c.n, c.ch, c.l, ref.Act(c.act.Act), slope)
			dx, dg, db := ref.ClassAffineBackward(dy, x, pre, gain, c.n, c.ch, c.l, ref.Act(c.act.Act), slope)
			expect(t, "y", by, y, ref.Pointwise)
			expect(t, "dx", bdx, dx, ref.Pointwise)
			expect(t, "dgain", bdg, dg, ref.Sum)
			expect(t, "dbias", bdb, db, ref.Sum)
		})
	}
	if _, err := layers.NewClassAffine(d, 0, 3, 4, layers.Activation{}); err == nil {
		t.Error("no samples: no error")
	}
}
