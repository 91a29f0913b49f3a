// Package layers holds gan-vk's tensor ops, each of which builds its kernels
// once for one shape and records its dispatches into a vk.Sequence without
// waiting, held by the tests to a float64 twin in layers/ref.
//
// Conventions: activations are float32 NCHW; parameters use PyTorch's
// layouts; parameter gradients accumulate, activation gradients overwrite.
// A buffer too small for an op's shape is a programming error and panics
// with the op, the buffer and both sizes. Tensors are bound as texel views,
// which is what lavapipe makes fast, except the GEMM operands of a tile with
// storage loads, which a GPU reads faster from storage buffers (Loads).
// Each kernel is built from its shader's
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
//	loss.go        the GAN losses (BCE with logits, hinge), their gradients and the batch's statistics
//	random.go      the step clock, the latent draw and dropout (Philox)
//	augment.go     DiffAugment's transforms (forward and backward) and the mirror
//	spectral.go    spectral norm: the power iteration, W/σ and the gradient through it
//	embedding.go   nn.Embedding: a class picks a row of a table; its gradient sums each class's rows
//	class_affine.go conditional batch norm's per-sample gain and bias
//	projection.go  a projection discriminator's class term
//	adam.go        torch.optim.Adam's update
//	ema.go         the exponential moving average of parameters, with StyleGAN's ramp-up
//	frame.go       the viewer's frame: a sample grid and curves into an image
//
// # Which GEMM kernel a pass gets
//
// Heuristic chooses from the device's kind and limits and the pass's
// shape; gan-vk tune times the alternatives (Candidates) where the
// heuristic is not enough. The reasons, as CUTLASS reasons about its SIMT
// kernels (loads per FMA, registers, occupancy):
//
// lavapipe runs a workgroup on one CPU thread, one invocation per SIMD
// lane, and compiles shared- and storage-memory accesses lane by lane while
// texel reads are vectorised. So the register form (no shared memory), a
// big block per invocation (32×8 on Mesa 22, 16×8 on Mesa 25) and texel
// loads; never a split, which its two threads do not need.
//
// A GPU gets the shared-memory form with CUTLASS's SIMT SGEMM tile: 256
// invocations each computing 8×8 outputs of a 128×128 block, the
// reduction BK = 8 steps at a time, the next slice prefetched into
// registers while the current one is multiplied.
//   - Shared-memory reads per FMA: at each step an invocation reads two
//     vec4s of each operand (its 8 rows and 8 columns, CUTLASS's layout:
//     no bank conflicts) for 64 FMAs, 16 FMAs per vec4. The 11-27 tile
//     (4×4 per invocation) did 8: on an H100/H200 SM a warp's vec4 read
//     takes the shared-memory pipe 4 cycles, during which the SM issues 16
//     warp-FMAs, so 4×4 blocks starve the FMA units at under half of peak;
//     8×8 blocks balance them.
//   - Global loads per FMA: a 128×128 block loads 256 floats per step for
//     16384 FMAs, one per 64 (a 64×64 block: one per 32), so the kernel is
//     bound by arithmetic, not by L2, on every shape whose grid fills the
//     device.
//   - Registers and occupancy: 64 accumulators, 16 operand fragments, the
//     prefetched slice (one vec4 and four floats) and the loaded column's
//     setup come to about 120 registers; two 256-invocation workgroups fit
//     an SM's 64 Ki registers (16 warps, 25 % occupancy, which is where
//     CUTLASS's SIMT kernels run: the 64 independent FMAs per step hide
//     latency, not more warps). Shared memory: 8 KiB a workgroup.
//   - Operands come from storage buffers: on NVIDIA and AMD a texel
//     fetch goes through the texture unit (lower throughput, longer
//     latency, a format conversion), a storage load through L1. The
//     implicit GEMM's index arithmetic (which input element a column reads
//     at a step) is split into a column part computed once per block and
//     a step part added per slice. Texel views remain where an operand
//     exceeds maxStorageBufferRange.
//   - Shapes: 64×128 blocks (128 invocations) where the pass has 64 rows
//     or fewer, 128×64 where 128 columns or fewer, 64×64 where both, so
//     that Fit keeps the 8×8 block. Passes with 32 rows or fewer (a last
//     layer's 1 or 3 channels) use blocks of 8×1 or 4×1 in workgroups two
//     subgroups wide: an 8×8 block's workgroup fitted to 3 rows would be a
//     few lanes of one subgroup, and such a pass reuses each loaded input
//     only as many times as it has rows, whatever the block.
//   - Split-K: where the grid holds fewer than gpuFill invocations (about
//     one wave on the largest GPUs; Vulkan does not tell how many SMs a
//     device has), the reduction is cut into slices summed in order by
//     sum_slices, each at least minSliceRed long. A transposed conv's
//     phases are dispatches of their own, so a deep layer's phase at batch
//     64 is 32 blocks of 128×128: without the split, a fifth of an H200.
//
// None of the GPU figures above was measured by gan-vk yet (the last GPU
// measurement, 2026-11-27, predates these tiles): bench/gpu-window.sh
// measures them when a GPU is lent, and docs/benchmarks.md
// holds the results.
package layers
