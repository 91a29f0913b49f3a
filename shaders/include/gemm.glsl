// gemm.glsl — the register tile shared by the convolution kernels, which are
// all implicit GEMMs in gather form: each invocation owns a TM×TN block of
// the output (TM rows, TN columns), sums its whole reduction in registers in
// a fixed order, and writes each element once. No atomics, no shared memory:
// results are the same bits on every run, and on lavapipe (where shared and
// storage memory are accessed lane by lane) register blocking is what is
// fast. Rows are workgroup y, columns workgroup x, so the lanes of a subgroup
// share rows and take neighbouring column blocks.
//
// lavapipe compiles the inner loop to a multiply and an add per
// accumulation, with the accumulator kept on the stack, which caps this
// structure well below the CPU's peak; what was tried against that, and
// measured, is in bench/results/kernel-notes.md.
#ifndef GANVK_GEMM_GLSL
#define GANVK_GEMM_GLSL

layout(local_size_x = 8, local_size_y = 8) in;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4; // rows per invocation
layout(constant_id = 3) const uint TN = 4; // columns per invocation

// The first row and column of this invocation's block. Column blocks past
// 65535 workgroups (the minimum limit in x) continue in z (layers' tile.groups).
uint tile_row0() { return (gl_WorkGroupID.y * gl_WorkGroupSize.y + gl_LocalInvocationID.y) * TM; }
uint tile_col0() {
	uint wg = gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	return (wg * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TN;
}

#endif
