#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"
#include "conv_geom.glsl"

// Conv2d backward-filter:
//   dw[k,c,r,s] (+)= Σ_{n,oh,ow} dy[n,k,oh,ow] · x[n,c,oh·S−P+r, ow·S−P+s]
// x is N×C×H×W, dy is N×K×OH×OW, dw is K×C×KH×KW. As a GEMM: rows are the K
// output channels, columns the C·KH·KW taps, and the reduction runs over the
// N·OH·OW output positions in order. dy comes rearranged (layers' permute)
// as dyt, N·OH·OW rows of K4 = K rounded up to 4 floats, so one vec4 load
// gives four output channels (as conv_fwd reads its weight). ConvTranspose2d's backward-filter is the
// same sum with the roles swapped (its input as dy, its output gradient as
// x), and Linear's is the 1×1 case. With ACCUM the result is added to dw, so
// gradients from several batches (D on real and on fake data) sum up.
//
// A filter gradient has few outputs and a long reduction: D's first layer
// at batch 64 is 64×75 outputs, each a sum over 65536 positions, which is
// two workgroups of a GPU's hundreds. With SPLIT > 1 the batch is cut into
// SPLIT slices, workgroup row y·SPLIT… covers slice y / (rows' groups), and
// each slice's sums go to its own SPLIT-th of DW (a scratch buffer then),
// which sum_slices adds up in order.

layout(constant_id = 18) const bool ACCUM = false;
layout(constant_id = 40) const uint SPLIT = 1;

// x and dyt are read through texel buffers or their storage twins (see
// conv_fwd).
layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(rgba32f, binding = 1) readonly uniform imageBuffer DYt;
layout(r32f, binding = 2) uniform imageBuffer DW;
layout(std430, binding = 3) readonly buffer Xs { float xs[]; };
layout(std430, binding = 4) readonly buffer DYts { vec4 dyts[]; };
#include "gemm_loads.glsl"

vec4 load_rows4(uint i) {
	if (STORAGE) {
		return dyts[i];
	}
	return imageLoad(DYt, int(i));
}

const uint ROWS = K;
const uint COLS = C * KH * KW;
const uint K4 = (K + 3) / 4 * 4;

// The operands for gemm_shared, over this workgroup's slice of the batch:
// reduction step kk is output position (n, oh, ow) of the slice.
uint slice_() { return gl_WorkGroupID.y / (gl_NumWorkGroups.y / SPLIT); }
uint red_() { uint s = slice_(); return ((s + 1) * N / SPLIT - s * N / SPLIT) * OH * OW; }
vec4 shared_a4(uint kk, uint row) {
	uint p = slice_() * N / SPLIT * OH * OW + kk;
	return load_rows4(p * (K4 / 4) + row / 4);
}
// A column is a tap (c, r, s): its channel's offset in a sample and its
// offset from an output position's receptive field.
ivec3 shared_b_col(uint col) {
	uint c = col / (KH * KW), rs = col % (KH * KW);
	return ivec3(c * H * W, int(rs / KW) - int(P), int(rs % KW) - int(P));
}
float shared_b(uint kk, ivec3 at) {
	uint p = slice_() * N / SPLIT * OH * OW + kk;
	uint n = p / (OH * OW), ohw = p % (OH * OW);
	int ih = int(ohw / OW * S) + at.y, iw = int(ohw % OW * S) + at.z;
	bool in_ = uint(ih) < H && uint(iw) < W;
	return in_ ? load_x(n * C * H * W + uint(at.x) + uint(ih) * W + uint(iw)) : 0.0;
}
void shared_store(uint row, uint col, float v) {
	uint o = (slice_() * ROWS + row) * COLS + col;
	imageStore(DW, int(o), vec4(ACCUM ? imageLoad(DW, int(o)).x + v : v));
}
#define RED red_()
#define GEMM_SHARED_ROW_GROUPS (gl_NumWorkGroups.y / SPLIT)
#include "gemm_shared.glsl"

void main() {
	if (SHARED) {
		gemm_shared();
		return;
	}
	uint groups = gl_NumWorkGroups.y / SPLIT; // row groups of one slice
	uint slice = gl_WorkGroupID.y / groups;
	uint row0 = ((gl_WorkGroupID.y % groups) * gl_WorkGroupSize.y + gl_LocalInvocationID.y) * TM;
	uint col0 = tile_col0();
	GUARD(row0, ROWS)
	GUARD(col0, COLS)

	// Per column (tap c, r, s): where it reads x relative to an output
	// position's receptive field.
	uint xoff[TN];
	int dr[TN], ds[TN];
	for (uint j = 0; j < TN; j++) {
		uint col = min(col0 + j, COLS - 1);
		uint c = col / (KH * KW), rs = col % (KH * KW);
		xoff[j] = c * H * W;
		dr[j] = int(rs / KW) - int(P);
		ds[j] = int(rs % KW) - int(P);
	}
	uint dyrow = row0 / 4; // TM is a multiple of 4 (see conv_fwd)

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
	for (uint n = slice * N / SPLIT; n < (slice + 1) * N / SPLIT; n++) {
		uint xn = n * C * H * W;
		for (uint oh = 0; oh < OH; oh++) {
			for (uint ow = 0; ow < OW; ow++) {
				float a[TM], v[TN];
				uint q = ((n * OH + oh) * OW + ow) * (K4 / 4) + dyrow;
				for (uint i = 0; i < TM; i += 4) {
					vec4 d = load_rows4(q + i / 4);
					a[i] = d.x;
					a[i + 1] = d.y;
					a[i + 2] = d.z;
					a[i + 3] = d.w;
				}
				for (uint j = 0; j < TN; j++) {
					int ih = int(oh * S) + dr[j], iw = int(ow * S) + ds[j];
					bool in_ = uint(ih) < H && uint(iw) < W;
					float xv = load_x(in_ ? xn + xoff[j] + uint(ih) * W + uint(iw) : 0);
					v[j] = in_ ? xv : 0.0;
				}
				for (uint i = 0; i < TM; i++) {
					for (uint j = 0; j < TN; j++) {
						acc[i][j] = fma(a[i], v[j], acc[i][j]);
					}
				}
			}
		}
	}

	for (uint i = 0; i < TM; i++) {
		uint k = row0 + i;
		if (k >= ROWS) {
			break;
		}
		for (uint j = 0; j < TN; j++) {
			uint col = col0 + j;
			if (col >= COLS) {
				break;
			}
			uint o = (slice * ROWS + k) * COLS + col;
			imageStore(DW, int(o), vec4(ACCUM ? imageLoad(DW, int(o)).x + acc[i][j] : acc[i][j]));
		}
	}
}
