package gan

import (
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// StepPass is one GEMM pass a training step runs: a dense, conv or
// transposed-conv layer's forward, backward-data or backward-filter pass.
type StepPass struct {
	Layer string   // the layer, as the profile names it
	Phase Category // Forward, BackwardData or BackwardFilter
	Pass  layers.Pass
	Runs  int     // how many times a step runs it (passCounts)
	FLOPs float64 // of one run, counted as bench.go says
}

// PhaseName is the pass's phase as the tuner and the profile print it.
func (p StepPass) PhaseName() string {
	switch p.Phase {
	case Forward:
		return "fwd"
	case BackwardData:
		return "data"
	}
	return "filter"
}

// GEMMPasses lists the GEMM passes the step runs, generator first, each
// layer's in the order forward, data, filter (passCounts says which run:
// no layer's first data gradient does). A pass of the same shape in two
// places is listed twice.
func (c TrainConfig) GEMMPasses() []StepPass {
	var out []StepPass
	for _, n := range []struct {
		spec      netSpec
		generator bool
	}{{c.Model.generator(), true}, {c.Model.discriminator(), false}} {
		for i, l := range n.spec.layers {
			ps, ok := l.gemmPasses(c.Batch)
			if !ok {
				continue
			}
			fwd, data, filter := passCounts(n.generator, i, c.GSteps)
			for j, count := range []int{fwd, data, filter} {
				if count > 0 {
					out = append(out, StepPass{Layer: n.spec.layerName(i), Phase: []Category{Forward, BackwardData, BackwardFilter}[j],
						Pass: ps.List()[j], Runs: count, FLOPs: 2 * l.macs(c.Batch)})
				}
			}
		}
	}
	return out
}

// KernelPlan is the tile every GEMM pass of the step runs with on a
// device: tiles' where it has one (a tuned cache, a forced tile; nil has
// none), else the heuristic's. A new run records it in Kernels.
func (c TrainConfig) KernelPlan(info vk.DeviceInfo, tiles layers.Tiler) layers.Plan {
	plan := layers.Plan{}
	for _, p := range c.GEMMPasses() {
		plan[p.Pass], _ = layers.Choose(info, tiles, p.Pass)
	}
	return plan
}
