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
	Runs  int     // how many times a step runs it (counted from the step's recipes)
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
// layer's in the order forward, data, filter, as its recipes (step.go) run
// them: the generator's first layer, for one, has no data gradient. A pass
// of the same shape in two places is listed twice.
func (c TrainConfig) GEMMPasses() []StepPass {
	var out []StepPass
	counts := c.counts()
	for id, spec := range [nets]netSpec{c.Model.generator(), c.Model.discriminator()} {
		for i, l := range spec.layers {
			ps, ok := l.gemmPasses(c.Batch)
			if !ok {
				continue
			}
			for j, count := range counts.layers[id][i] {
				if count > 0 {
					out = append(out, StepPass{Layer: spec.layerName(i), Phase: []Category{Forward, BackwardData, BackwardFilter}[j],
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
