// Package gan trains DCGANs on a Vulkan device: the models, their
// parameters and networks, the step's recipes, the trainer that records
// them, and the sampler.
//
// The files:
//
//	model.go    the presets (dcgan64, dcgan28) as layer lists that number their layers as
//	            PyTorch's nn.Sequential would, so parameter names are state_dict names
//	params.go   a network's parameter store: values, gradients and Adam's moments as four
//	            buffers, each tensor a view into them; batch norm's running statistics
//	net.go      a network's ops at one batch size over its parameters; forward and backward
//	            record into a vk.Sequence
//	step.go     the step written once: the D and G updates as recipes, and the counts
//	            (batch-norm forwards, GEMM passes) derived from them
//	trainer.go  Trainer records the recipes once and replays them; z, dropout masks and
//	            Adam's step come from clocks on the device, so a step needs nothing from the
//	            host but the real batch; a data-parallel trainer (one rank of an mpirun)
//	            trains its rows of the batch and averages each update's gradients over the
//	            ranks before Adam
//	state.go    the trainer's state as named tensors, read for a checkpoint and restored
//	            from one (gan/run writes and reads the files)
//	ema.go      the EMA generator: the moving average of the generator's weights, and the
//	            calibration of its batch norms' running statistics for them
//	sample.go   Sampler (the generator in eval mode on its own z), Generator, sample grids
//	features.go the feature network gan/score scores with: a classifier trained here with
//	            softmax cross-entropy, or fixed random weights
//	complete.go Completer: image completion by Adam on z, with gradients through the
//	            discriminator and the generator in eval mode
//	layers.go   Layer: a network layer by layer for exporters (gan/onnx)
//	kernels.go  the step's GEMM passes and the kernel plan a run records
//	bench.go    the step's FLOPs, the per-layer profile of the same recipes, the fixed cost
//	            of a dispatch
//
// The data, the run folder and its loop, the live feed and the tuner are
// packages of their own below this one (gan/data, gan/run, gan/live,
// gan/tune), and so are the quality score (gan/score), the ONNX export
// (gan/onnx), completion's masks (gan/mask), arithmetic on z (gan/latent)
// and animated GIFs (gan/anim). The tests hold whole steps to a float64
// trainer composed from layers/ref (ref_test.go, step_test.go) and to
// PyTorch (golden_test.go), a data-parallel step on 2 ranks under mpirun
// to the same composition and to each other bit for bit
// (parallel_test.go), and the completion search to the same composition
// (complete_test.go).
package gan
