// gemm_shared.glsl — the GPU form of the convolution GEMMs. gemm.glsl's
// register tile reads its operands straight from memory, which is what runs
// fast on lavapipe; on a GPU that leaves it at 4–7 % of an H200's fp32 peak
// (gan-vk bench --profile). Here a workgroup of LX×LY invocations computes a
// BM×BN block of the output (BM = LY·TM rows, BN = LX·TN columns) and walks
// the reduction BK steps at a time: the workgroup loads a BK×BM slice of the
// row operand and a BK×BN slice of the column operand into shared memory
// together, then each invocation accumulates its TM×TN outputs from there.
// Every output is still one invocation's sum in the reduction's order: the
// same bits on every run, whatever the tile.
//
// As CUTLASS's SIMT GEMM lays them out, an invocation's rows are TM/4
// groups of 4 spaced 4·LY apart, and (when TN is a multiple of 4) its
// columns TN/4 groups of 4 spaced 4·LX apart: each group is one vec4 read
// of shared memory, and neighbouring invocations read neighbouring vec4s,
// which no two banks share. With PREFETCH the next slices' global loads
// are issued into registers before the current slices are multiplied, and
// stored to shared memory after (double buffering through registers), so
// the loads' latency hides behind the arithmetic.
//
// The implicit GEMM's index arithmetic stays out of the inner loop, as
// CUTLASS's tile iterators keep it: each invocation loads the same columns
// of the column operand at every slice, so what a column's reads need (its
// input's base, its receptive field's corner) is computed once per block
// (shared_b_col); per slice only the reduction step's part is added.
//
// A shader includes it after defining ROWS, COLS, RED (the reduction's
// length), K4 (the row operand's rows, padded to 4), and
//   vec4  shared_a4(uint kk, uint row)  rows row…row+3 at reduction step kk
//   ivec3 shared_b_col(uint col)        once per block: what reading column col needs
//   float shared_b(uint kk, ivec3 at)   that column at step kk (0 outside the input)
//   void  shared_store(uint row, uint col, float v)
// and calls gemm_shared() first thing in main when SHARED is set (a
// specialization constant, so a pipeline compiles one of the two forms).
// GEMM_SHARED_ROW_GROUPS, when defined, is how many workgroups in y one
// output covers (a split reduction stacks its slices in y).
#ifndef GANVK_GEMM_SHARED_GLSL
#define GANVK_GEMM_SHARED_GLSL

layout(constant_id = 41) const bool SHARED = false;
layout(constant_id = 42) const uint BK = 16;
layout(constant_id = 43) const bool PREFETCH = false;

const uint BM = gl_WorkGroupSize.y * TM;
const uint BN = gl_WorkGroupSize.x * TN;
const uint THREADS = gl_WorkGroupSize.x * gl_WorkGroupSize.y;
const uint A_TILE = BK * BM / 4; // vec4s of the row operand's slice
const uint B_TILE = BK * BN;     // floats of the column operand's slice
const uint A_PER = (A_TILE + THREADS - 1) / THREADS; // of them per invocation
const uint B_PER = (B_TILE + THREADS - 1) / THREADS;
const bool B_VEC4 = TN % 4 == 0;
// When the workgroup's invocations are a multiple of the block's columns,
// an invocation loads one column at every step (the common case: 256
// invocations, 128 columns), so it keeps one column's setup, not B_PER.
const bool B_ONE_COL = THREADS % BN == 0;
const uint B_COLS = B_ONE_COL ? 1 : B_PER;
shared vec4 sa[A_TILE];
shared vec4 sb[(B_TILE + 3) / 4];

#ifndef GEMM_SHARED_ROW_GROUPS
#define GEMM_SHARED_ROW_GROUPS gl_NumWorkGroups.y
#endif

// The row and column of the block an invocation's i-th row and j-th
// column are.
uint gemm_row(uint i) { return i / 4 * 4 * gl_WorkGroupSize.y + gl_LocalInvocationID.y * 4 + i % 4; }
uint gemm_col(uint j) {
	return B_VEC4 ? j / 4 * 4 * gl_WorkGroupSize.x + gl_LocalInvocationID.x * 4 + j % 4 : gl_LocalInvocationID.x * TN + j;
}

void gemm_shared() {
	uint wg = gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint rowBase = (gl_WorkGroupID.y % GEMM_SHARED_ROW_GROUPS) * BM, colBase = wg * BN;
	uint tid = gl_LocalInvocationIndex;

	// This invocation's share of a slice, held in registers between its
	// global loads and its stores to shared memory.
	vec4 ra[A_PER];
	float rb[B_PER];

	// Where this invocation's share of the column operand's slice lies:
	// its reduction step within the slice, whether it is inside the
	// output, and its columns' setup.
	uint bkk[B_PER];
	bool bok[B_PER];
	ivec3 bat[B_COLS];
	for (uint u = 0; u < B_PER; u++) {
		uint e = tid + u * THREADS, c = colBase + e % BN;
		bkk[u] = e / BN;
		bok[u] = e < B_TILE && c < COLS;
		if (u < B_COLS) {
			bat[u] = shared_b_col(min(c, COLS - 1));
		}
	}

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
	uint red = RED;
// LOAD(k0) reads the slices at reduction step k0 into ra and rb; STORE
// puts them in shared memory. Neighbouring invocations take neighbouring
// columns, which are neighbouring addresses for most gathers.
#define LOAD(k0) { \
		for (uint u = 0; u < A_PER; u++) { \
			uint e = tid + u * THREADS, kk = e / (BM / 4), r = e % (BM / 4) * 4; \
			ra[u] = e < A_TILE && (k0) + kk < red && rowBase + r < K4 ? shared_a4((k0) + kk, rowBase + r) : vec4(0.0); \
		} \
		for (uint u = 0; u < B_PER; u++) { \
			uint kk = (k0) + bkk[u]; \
			rb[u] = bok[u] && kk < red ? shared_b(kk, bat[B_ONE_COL ? 0 : u]) : 0.0; \
		} \
	}
#define STORE() { \
		for (uint u = 0; u < A_PER; u++) { \
			uint e = tid + u * THREADS; \
			if (e < A_TILE) { sa[e] = ra[u]; } \
		} \
		for (uint u = 0; u < B_PER; u++) { \
			uint e = tid + u * THREADS; \
			if (e < B_TILE) { sb[e / 4][e % 4] = rb[u]; } \
		} \
	}
	if (PREFETCH) {
		LOAD(0)
		STORE()
		barrier();
	}
	for (uint k0 = 0; k0 < red; k0 += BK) {
		bool more = k0 + BK < red;
		if (!PREFETCH) {
			LOAD(k0)
			STORE()
			barrier();
		} else if (more) {
			LOAD(k0 + BK)
		}
		for (uint kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
			for (uint i = 0; i < TM; i += 4) {
				vec4 q = sa[kk * (BM / 4) + i / 4 * gl_WorkGroupSize.y + gl_LocalInvocationID.y];
				a[i] = q.x;
				a[i + 1] = q.y;
				a[i + 2] = q.z;
				a[i + 3] = q.w;
			}
			if (B_VEC4) {
				for (uint j = 0; j < TN; j += 4) {
					vec4 q = sb[kk * (BN / 4) + j / 4 * gl_WorkGroupSize.x + gl_LocalInvocationID.x];
					b[j] = q.x;
					b[j + 1] = q.y;
					b[j + 2] = q.z;
					b[j + 3] = q.w;
				}
			} else {
				for (uint j = 0; j < TN; j++) {
					uint e = kk * BN + gemm_col(j);
					b[j] = sb[e / 4][e % 4];
				}
			}
			for (uint i = 0; i < TM; i++) {
				for (uint j = 0; j < TN; j++) {
					acc[i][j] = fma(a[i], b[j], acc[i][j]);
				}
			}
		}
		barrier();
		if (PREFETCH && more) {
			STORE()
			barrier();
		}
	}
#undef LOAD
#undef STORE
	for (uint i = 0; i < TM; i++) {
		uint row = rowBase + gemm_row(i);
		for (uint j = 0; j < TN; j++) {
			uint col = colBase + gemm_col(j);
			if (row < ROWS && col < COLS) {
				shared_store(row, col, acc[i][j]);
			}
		}
	}
}

#endif
