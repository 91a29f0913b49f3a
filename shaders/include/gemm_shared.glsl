// gemm_shared.glsl — the GPU form of the convolution GEMMs. gemm.glsl's
// register tile reads its operands straight from memory, which is what runs
// fast on lavapipe; on a GPU that leaves it at 4–7 % of an H200's fp32 peak
// (gan-vk bench --profile). Here a workgroup of LX×LY invocations computes a
// BM×BN block of the output (BM = LY·TM rows, BN = LX·TN columns) and walks
// the reduction BK steps at a time: the workgroup loads a BK×BM slice of the
// row operand and a BK×BN slice of the column operand into shared memory
// together, then each invocation accumulates its TM×TN outputs from there.
// Every output is still one invocation's fixed-order sum: the same bits on
// every run.
//
// A shader includes it after defining ROWS, COLS, RED (the reduction's
// length), K4 (the row operand's rows, padded to 4), and
//   vec4  shared_a4(uint kk, uint row)  rows row…row+3 at reduction step kk
//   float shared_b(uint kk, uint col)   column col at step kk (0 past the end)
//   void  shared_store(uint row, uint col, float v)
// and calls gemm_shared() first thing in main when SHARED is set (a
// specialization constant, so a pipeline compiles one of the two forms).
// GEMM_SHARED_ROW_GROUPS, when defined, is how many workgroups in y one
// output covers (conv_wgrad stacks its slices of the batch in y).
#ifndef GANVK_GEMM_SHARED_GLSL
#define GANVK_GEMM_SHARED_GLSL

layout(constant_id = 41) const bool SHARED = false;
layout(constant_id = 42) const uint BK = 16;

const uint BM = gl_WorkGroupSize.y * TM;
const uint BN = gl_WorkGroupSize.x * TN;
shared float sa[BK * BM];
shared float sb[BK * BN];

#ifndef GEMM_SHARED_ROW_GROUPS
#define GEMM_SHARED_ROW_GROUPS gl_NumWorkGroups.y
#endif

void gemm_shared() {
	uint wg = gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint rowBase = (gl_WorkGroupID.y % GEMM_SHARED_ROW_GROUPS) * BM, colBase = wg * BN;
	uint tid = gl_LocalInvocationIndex;
	uint threads = gl_WorkGroupSize.x * gl_WorkGroupSize.y;
	uint tr = gl_LocalInvocationID.y * TM, tc = gl_LocalInvocationID.x * TN;

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
	for (uint k0 = 0; k0 < RED; k0 += BK) {
		// The row operand: BK×BM floats as vec4s of 4 rows.
		for (uint e = tid; e < BK * BM / 4; e += threads) {
			uint kk = e / (BM / 4), r = (e % (BM / 4)) * 4;
			vec4 v = k0 + kk < RED && rowBase + r < K4 ? shared_a4(k0 + kk, rowBase + r) : vec4(0.0);
			sa[kk * BM + r] = v.x;
			sa[kk * BM + r + 1] = v.y;
			sa[kk * BM + r + 2] = v.z;
			sa[kk * BM + r + 3] = v.w;
		}
		// The column operand: neighbouring invocations take neighbouring
		// columns, which are neighbouring addresses for most gathers.
		for (uint e = tid; e < BK * BN; e += threads) {
			uint kk = e / BN, c = e % BN;
			sb[e] = k0 + kk < RED && colBase + c < COLS ? shared_b(k0 + kk, colBase + c) : 0.0;
		}
		barrier();
		for (uint kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
			for (uint i = 0; i < TM; i++) {
				a[i] = sa[kk * BM + tr + i];
			}
			for (uint j = 0; j < TN; j++) {
				b[j] = sb[kk * BN + tc + j];
			}
			for (uint i = 0; i < TM; i++) {
				for (uint j = 0; j < TN; j++) {
					acc[i][j] = fma(a[i], b[j], acc[i][j]);
				}
			}
		}
		barrier();
	}
	for (uint i = 0; i < TM; i++) {
		uint row = rowBase + tr + i;
		for (uint j = 0; j < TN; j++) {
			uint col = colBase + tc + j;
			if (row < ROWS && col < COLS) {
				shared_store(row, col, acc[i][j]);
			}
		}
	}
}

#endif
