package gan

import (
	"testing"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// On a discrete GPU the heuristic's plan for dcgan64 at batch 64 gives
// every big pass (64 rows and columns or more: all but G's last layer and
// the thin edges of D) CUTLASS's SIMT tile: the shared-memory form with
// 8×8 outputs per invocation, BK 8, prefetched, reading its operands from
// storage buffers; and a pass whose grid would leave the GPU idle splits
// its reduction. No GPU is needed: the plan is the device's limits and
// the passes' shapes.
func TestGPUPlan(t *testing.T) {
	m, err := DefaultModel("dcgan64", 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg := TrainConfig{Model: m, Batch: 64, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1}
	info := vktest.H200()
	plan := cfg.KernelPlan(info, nil)
	var big, split int
	for _, sp := range cfg.GEMMPasses() {
		p, tile := sp.Pass, plan[sp.Pass]
		if err := tile.Check(info, p); err != nil {
			t.Errorf("%s %s: %v", sp.Layer, sp.PhaseName(), err)
		}
		if tile.Split > 1 {
			split++
		}
		if p.Rows() < 64 || p.Cols() < 64 {
			t.Logf("%-28s %-6s %-48v %v", sp.Layer, sp.PhaseName(), p, tile)
			continue
		}
		big++
		if tile.Form != layers.Shared || tile.TM != 8 || tile.TN != 8 || tile.BK != 8 || !tile.Prefetch || tile.Loads != layers.Storage {
			t.Errorf("%s %s (%v): %v, want 8×8 shared blocks, bk8, prefetched, from storage buffers", sp.Layer, sp.PhaseName(), p, tile)
		}
		if n := tile.LX * tile.LY; n < 64 || n > 256 {
			t.Errorf("%s %s: %v: a workgroup of %d invocations", sp.Layer, sp.PhaseName(), tile, n)
		}
		t.Logf("%-28s %-6s %-48v %v", sp.Layer, sp.PhaseName(), p, tile)
	}
	if big < 20 {
		t.Errorf("only %d big passes", big)
	}
	if split == 0 {
		t.Error("no pass splits its reduction")
	}
}
