package gan

import (
	"github.com/gan-vk/gan-vk/gan/nn"
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
	for id, spec := range [nets]nn.Spec{c.Model.generator(), c.Model.discriminator()} {
		for i, l := range spec.Layers {
			ps, ok := l.GEMMPasses(c.Batch)
			if !ok {
				continue
			}
			for j, count := range counts.layers[id][i] {
				if count > 0 {
					out = append(out, StepPass{Layer: spec.LayerName(i), Phase: []Category{Forward, BackwardData, BackwardFilter}[j],
						Pass: ps.List()[j], Runs: count, FLOPs: 2 * l.MACs(c.Batch)})
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

// The FLOPs of a training step.
//
// A dense, conv or transposed-conv layer does the same number of
// multiply-adds (nn.LayerSpec.MACs) in each of its three passes — forward,
// backward to its input (data) and backward to its weights (filter) —
// counted the dense way, every tap of the kernel, padding included.
//
// A step is DSteps discriminator updates (1 by default) and GSteps
// generator updates; a layer's passes in it, as the counter derives them
// from the step's recipes (step.go), are, with K = DSteps:
//
//	                 forward        data                      filter
//	generator        K−1 + GSteps   GSteps (not layer 0)      GSteps
//	discriminator    2K + GSteps    2K (not layer 0)+GSteps   2K
//
// Each D update runs G forward once and D forward and backward on the real
// and the fake batch, with no gradient to D's input; each G update runs G
// and D forward, D backward to the images (no filter gradient) and G
// backward (no gradient to z) — except that the first G update reuses the
// last D update's G forward (same weights, same z: updateG), so G runs
// forward K−1 + GSteps times, not K + GSteps. These are the passes gan-vk executes;
// FLOPs = 2 × Σ MACs × passes. Batch norm,
// activations, the loss and Adam are not counted: they are a few FLOPs per
// element, not per tap.

// layerFLOPs is one dense, conv or transposed-conv layer's FLOPs in a step,
// by pass, by the formula above.
type layerFLOPs struct {
	name              string
	fwd, data, filter float64
}

// stepLayers lists the step's GEMM layers, generator first, with the
// FLOPs of each phase's passes.
func (c TrainConfig) stepLayers() []layerFLOPs {
	var out []layerFLOPs
	for _, p := range c.GEMMPasses() {
		if len(out) == 0 || out[len(out)-1].name != p.Layer {
			out = append(out, layerFLOPs{name: p.Layer})
		}
		l := &out[len(out)-1]
		f := p.FLOPs * float64(p.Runs)
		switch p.Phase {
		case Forward:
			l.fwd = f
		case BackwardData:
			l.data = f
		default:
			l.filter = f
		}
	}
	return out
}

// StepFLOPs is the floating-point operations of one training step's
// dense, conv and transposed-conv passes, by the formula above.
func (c TrainConfig) StepFLOPs() float64 {
	var f float64
	for _, l := range c.stepLayers() {
		f += l.fwd + l.data + l.filter
	}
	return f
}
