package gan

import (
	"fmt"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// On a discrete GPU the heuristic's plan for both presets, at batch 64
// and 256, gives every big pass (64 rows and columns or more: all but the
// last layers and the thin edges of D) CUTLASS's SIMT tile: the
// shared-memory form with 8×8 outputs per invocation, BK 8, prefetched,
// reading its operands from storage buffers; every tile of the plan runs
// on the device; and passes whose grid would leave the GPU idle split
// their reduction. No GPU is needed: the plan is the device's limits and
// the passes' shapes.
func TestGPUPlan(t *testing.T) {
	info := vktest.H200()
	for _, c := range []struct {
		preset   string
		channels int
	}{{"dcgan28", 1}, {"dcgan64", 3}} {
		for _, batch := range []int{64, 256} {
			m, err := DefaultModel(c.preset, c.channels)
			if err != nil {
				t.Fatal(err)
			}
			cfg := TrainConfig{Model: m, Batch: batch, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1}
			plan := cfg.KernelPlan(info, nil)
			var big, split int
			for _, sp := range cfg.GEMMPasses() {
				p, tile := sp.Pass, plan[sp.Pass]
				where := fmt.Sprintf("%s at batch %d, %s %s (%v)", c.preset, batch, sp.Layer, sp.PhaseName(), p)
				if err := tile.Check(info, p); err != nil {
					t.Errorf("%s: %v", where, err)
				}
				if tile.Split > 1 {
					split++
				}
				if c.preset == "dcgan64" && batch == 64 {
					t.Logf("%-28s %-6s %-48v %v", sp.Layer, sp.PhaseName(), p, tile)
				}
				if p.Rows() < 64 || p.Cols() < 64 {
					continue
				}
				big++
				if tile.Form != layers.Shared || tile.TM != 8 || tile.TN != 8 || tile.BK != 8 || !tile.Prefetch || tile.Loads != layers.Storage {
					t.Errorf("%s: %v, want 8×8 shared blocks, bk8, prefetched, from storage buffers", where, tile)
				}
				if n := tile.LX * tile.LY; n < 64 || n > 256 {
					t.Errorf("%s: %v: a workgroup of %d invocations", where, tile, n)
				}
			}
			if big < 8 {
				t.Errorf("%s at batch %d: only %d big passes", c.preset, batch, big)
			}
			if batch == 64 && split == 0 {
				t.Errorf("%s at batch 64: no pass splits its reduction", c.preset)
			}
		}
	}
}
