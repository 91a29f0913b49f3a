// Package layers holds gan-vk's tensor ops, each of which builds its kernels
// once for one shape and records its dispatches into a vk.Sequence without
// waiting, held by the tests to a float64 twin in layers/ref.
//
// Conventions: activations are float32 NCHW; parameters use PyTorch's
// layouts; parameter gradients accumulate, activation gradients overwrite.
// A buffer too small for an op's shape is a programming error and panics
// with the op, the buffer and both sizes. Tensors are bound as texel views,
// which is what lavapipe makes fast. Each kernel is built from its shader's
// generated <Shader>Specs and dispatched with its <Shader>Bindings
// (shaders_gen.go), fields named as the GLSL names them.
//
// The files:
//
//	layers.go      activations, building a kernel from its shader's generated Specs,
//	               the helpers every op uses
//	conv.go        Conv2d, ConvTranspose2d and Linear on three implicit-GEMM
//	               shaders in gather form, and the weights' rearrangement
//	tile.go        how a GEMM pass is tiled: Tile, Pass, Plan, Heuristic
//	gemm.go        one GEMM pass alone, for gan-vk tune to time; its candidates
//	peak.go        the device's FMA peak and bandwidth, and the timing loop
//	batchnorm.go   BatchNorm2d: statistics, normalisation, running statistics
//	activation.go  an activation on its own
//	loss.go        BCE with logits, its gradient and the batch's mean probability
//	random.go      the step clock, the latent draw and dropout (Philox)
//	adam.go        torch.optim.Adam's update
//	frame.go       the viewer's frame: a sample grid and curves into an image
package layers
