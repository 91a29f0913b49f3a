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

// The embedding's rows and its table gradient against the float64
// reference, with classes no sample has and classes many share; the
// gradient accumulates onto what the table's gradient held.
func TestEmbedding(t *testing.T) {
	d := vktest.Open(t)
	for _, c := range []struct{ n, classes, dim int }{{7, 3, 5}, {64, 10, 128}, {5, 12, 1}} {
		t.Run(fmt.Sprintf("%d labels of %d×%d", c.n, c.classes, c.dim), func(t *testing.T) {
			e, err := layers.NewEmbedding(d, c.n, c.classes, c.dim)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			r := rand.New(rand.NewSource(int64(c.n)))
			labels := make([]int, c.n)
			for i := range labels {
				labels[i] = r.Intn(c.classes)
			}
			blab := uploadLabels(t, d, labels)
			table, dy, before := rnd(r, c.classes*c.dim, 1), rnd(r, c.n*c.dim, 1), rnd(r, c.classes*c.dim, 1)
			btable, bdy, bdt, by := upload(t, d, "table", table), upload(t, d, "dy", dy), upload(t, d, "dtable", before), alloc(t, d, "y", c.n*c.dim)
			run(t, d, func(s *vk.Sequence) {
				e.Forward(s, by, btable, blab)
				e.Backward(s, bdt, bdy, blab)
			})
			expect(t, "y", by, ref.Embedding(table, labels, c.dim), ref.Exact)
			want := ref.EmbeddingBackward(dy, labels, c.classes, c.dim)
			for i := range want {
				want[i] += before[i]
			}
			expect(t, "dtable", bdt, want, ref.Sum)
		})
	}
	if _, err := layers.NewEmbedding(d, 4, 0, 3); err == nil {
		t.Error("no classes: no error")
	}
}
