// Package gan trains DCGANs on a Vulkan device: the models, their
// parameters and networks, the step's recipes and the trainer that records
// them, and, until they move to packages of their own, the data, the run
// folder, the live feed and the tuner.
//
// The files:
//
//	model.go      the presets (dcgan64, dcgan28) as layer lists that number their layers as
//	              PyTorch's nn.Sequential would, so parameter names are state_dict names
//	params.go     a network's parameter store: values, gradients and Adam's moments as four
//	              buffers, each tensor a view into them; batch norm's running statistics
//	net.go        a network's ops at one batch size over its parameters; forward and backward
//	              record into a vk.Sequence
//	step.go       the step written once: the D and G updates as recipes, and the counts
//	              (batch-norm forwards, GEMM passes) derived from them
//	trainer.go    Trainer records the recipes once and replays them; z, dropout masks and
//	              Adam's step come from clocks on the device, so a step needs nothing from the
//	              host but the real batch
//	sample.go     Sampler (the generator in eval mode on its own z) and sample grids
//	checkpoint.go safetensors checkpoints, written atomically, read with every name, shape and
//	              dtype checked
//	files.go      atomic writes
//	data.go       image folders (decoded once into a cache) and Loader, whose batch depends only
//	idx.go        on its step; IDX files
//	run.go        Run, a training run in its folder (config.json, metrics.jsonl, samples/,
//	              checkpoints/) and its loop, which hands each step to observers
//	live.go       the live feed a viewer draws from while a run trains
//	follow.go     following a run (or a checkpoint) from its files, for gan-vk view
//	bench.go      the step's FLOPs, the per-layer profile, the fixed cost of a dispatch
//	kernels.go    the step's GEMM passes and the kernel plan a run records
//	tune.go       timing each pass's candidate tiles; tunecache.go keeps the winners per device
//
// The tests hold whole steps to a float64 trainer composed from layers/ref
// (ref_test.go, step_test.go) and to PyTorch (golden_test.go).
package gan
