// Package layers holds gan-vk's tensor ops, one file per op: each builds its
// kernels once for one shape, records its forward and backward dispatches
// into a vk.Sequence (it never waits), and sits beside its shaders in
// shaders/ and a float64 reference in layers/ref that the tests hold it to.
//
// Conventions (../shared/DESIGN.md): activations are float32 NCHW;
// parameters use PyTorch's layouts; parameter gradients accumulate,
// activation gradients overwrite. A buffer too small for an op's shape is a
// programming error and panics with the op, the buffer and both sizes.
//
// Convolutions, transposed convolutions and Linear run on three
// implicit-GEMM shaders in gather form (conv.go); batch norm, activations,
// the loss, dropout, noise and Adam on element-wise and workgroup-reduction
// shaders. Tensors are bound as texel views, which is what lavapipe makes
// fast. How each GEMM pass is tiled is data given to the op when it is
// built (tile.go: a Tile per Pass from a Tiler, else Heuristic); gemm.go
// builds one pass alone for gan-vk tune to time.
package layers
