// Package gan trains DCGANs on a Vulkan device. It puts the models
// together from gan/nn, which holds what every user of a network shares
// (specs, the parameter store, the net in a Mode, Adam, z, the owner).
//
// The main types: ModelConfig and TrainConfig (the presets, as a table, and
// a run's hyper-parameters); Trainer, which records the step once from its
// recipes (step.go: the D and G updates written against a small vocabulary
// that a counter also walks for batch-norm counts, FLOPs and the tuner's
// passes) and replays it, one rank of a data-parallel run among them
// (Ranks), with the augmentation for small data sets before the
// discriminator and ADA's adaptive p (augment.go); Sampler and Generator (the generator in eval mode on its own
// z, or with batch statistics); the EMA generator and the calibration of
// its batch norms (Weights); Completer (image completion by Adam on z);
// the step's FLOPs, Profile and KernelPlan; and the PNG grids of samples.
//
// The data, the run folder and its loop, the live feed and the tuner are
// packages of their own below this one (gan/data, gan/run, gan/live,
// gan/tune), and so are the quality score with its feature network
// (gan/score), the ONNX export (gan/onnx), completion's masks (gan/mask),
// arithmetic on z (gan/latent) and animated GIFs (gan/anim). The tests
// hold whole steps to a float64 trainer composed from layers/ref
// (ref_test.go, step_test.go) and to PyTorch (golden_test.go), a
// data-parallel step on 2 ranks under mpirun to the same composition and
// to each other bit for bit (parallel_test.go), and the completion search
// to the same composition (complete_test.go).
package gan
