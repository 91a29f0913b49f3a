#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"
#include "conv_geom.glsl"
#include "activation.glsl"

// Conv2d forward, PyTorch semantics:
//   y[n,k,oh,ow] = act(b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n,c,oh·S−P+r, ow·S−P+s])
// x is N×C×H×W, w is K×C×KH×KW, y is N×K×OH×OW. As a GEMM: rows are the K
// output channels, columns the N·OH·OW output positions, and the reduction
// runs over C·KH·KW. The weight comes rearranged (layers' permute) as wt,
// C·KH·KW rows of K4 = K rounded up to 4 floats, so one vec4 load gives four
// output channels: the weight loads are a quarter of what they would be.
// It is also Linear's forward (H=W=KH=KW=1) and
// ConvTranspose2d's backward-data (w read as [in][out][kh][kw] is a conv
// weight from the transposed conv's output channels to its input channels).
// With ACCUM the result is added to y instead of replacing it.
//
// An output with few rows or columns (D's last layer, dense 8192→1, is one
// workgroup) splits its reduction: with SPLIT > 1 the input channels are
// cut into SPLIT slices, workgroup row y covers slice y / (rows' groups),
// and each slice writes its raw sums to its own N·K·OH·OW part of Y (a
// scratch buffer then), which sum_slices adds up in order before the bias
// and the activation.

layout(constant_id = 15) const bool BIAS = false;
layout(constant_id = 18) const bool ACCUM = false;
layout(constant_id = 40) const uint SPLIT = 1;

// x and wt are read through texel buffers (on lavapipe those loads are
// vectorised, storage-buffer loads are not) or, with STORAGE, through
// their storage twins xs and wts (gemm_loads.glsl).
layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(rgba32f, binding = 1) readonly uniform imageBuffer Wt;
layout(r32f, binding = 2) readonly uniform imageBuffer B; // any buffer when !BIAS
layout(r32f, binding = 3) uniform imageBuffer Y; // texel views: no storage-buffer size limit
layout(std430, binding = 4) readonly buffer Xs { float xs[]; };
layout(std430, binding = 5) readonly buffer Wts { vec4 wts[]; };
#include "gemm_loads.glsl"

vec4 load_rows4(uint i) {
	if (STORAGE) {
		return wts[i];
	}
	return imageLoad(Wt, int(i));
}

const uint ROWS = K;
const uint COLS = N * OH * OW;
const uint K4 = (K + 3) / 4 * 4;

// This workgroup's slice of the input channels. Unsplit, the bounds are
// the constants 0 and C, so the channel loop compiles as it did before
// there were slices (lavapipe ran dcgan64 a fifth slower with run-time
// bounds).
uint slice_() { return gl_WorkGroupID.y / (gl_NumWorkGroups.y / SPLIT); }
uint c0_() { return SPLIT == 1 ? 0 : slice_() * C / SPLIT; }
uint c1_() { return SPLIT == 1 ? C : (slice_() + 1) * C / SPLIT; }

// out writes output (k, col): bias, activation, and ACCUM's sum; a slice
// of a split reduction writes its raw sum to its part.
void out_(uint k, uint col, float v) {
	uint n = col / (OH * OW), ohw = col % (OH * OW);
	uint o = (n * K + k) * OH * OW + ohw;
	if (SPLIT > 1) {
		imageStore(Y, int(slice_() * N * K * OH * OW + o), vec4(v));
		return;
	}
	if (BIAS) {
		v += imageLoad(B, int(k)).x;
	}
	v = activate(ACT, v, SLOPE);
	imageStore(Y, int(o), vec4(ACCUM ? imageLoad(Y, int(o)).x + v : v));
}

// The operands for gemm_shared: the weight's rows at tap kk = (c, r, s)
// of the slice, and x at that tap of column col's receptive field.
vec4 shared_a4(uint kk, uint row) { return load_rows4((c0_() * KH * KW + kk) * (K4 / 4) + row / 4); }
// A column is an output position: its sample's input and the corner of
// its receptive field.
ivec3 shared_b_col(uint col) {
	uint n = col / (OH * OW), ohw = col % (OH * OW);
	return ivec3(n * C * H * W, int(ohw / OW * S) - int(P), int(ohw % OW * S) - int(P));
}
float shared_b(uint kk, ivec3 at) {
	kk += c0_() * KH * KW;
	uint c = kk / (KH * KW), rs = kk % (KH * KW);
	int ih = at.y + int(rs / KW), iw = at.z + int(rs % KW);
	bool in_ = uint(ih) < H && uint(iw) < W;
	return in_ ? load_x(uint(at.x) + (c * H + uint(ih)) * W + uint(iw)) : 0.0;
}
void shared_store(uint row, uint col, float v) { out_(row, col, v); }
#define RED ((c1_() - c0_()) * KH * KW)
#define GEMM_SHARED_ROW_GROUPS (gl_NumWorkGroups.y / SPLIT)
#include "gemm_shared.glsl"

void main() {
	if (SHARED) {
		gemm_shared();
		return;
	}
	uint groups = gl_NumWorkGroups.y / SPLIT; // row groups of one slice
	uint row0 = SPLIT == 1 ? tile_row0() : ((gl_WorkGroupID.y % groups) * gl_WorkGroupSize.y + gl_LocalInvocationID.y) * TM;
	uint col0 = tile_col0();
	GUARD(row0, ROWS)
	GUARD(col0, COLS)

	// Per column: where its receptive field starts. Columns past the end
	// repeat the last one; they are computed and not stored.
	uint xbase[TN];
	int ih0[TN], iw0[TN];
	for (uint j = 0; j < TN; j++) {
		uint col = min(col0 + j, COLS - 1);
		uint n = col / (OH * OW), ohw = col % (OH * OW);
		xbase[j] = n * C * H * W;
		ih0[j] = int(ohw / OW * S) - int(P);
		iw0[j] = int(ohw % OW * S) - int(P);
	}
	// TM is a multiple of 4, so row0 is too; rows past K read the padding
	// and are not stored.
	uint wrow = row0 / 4;

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
	for (uint c = c0_(); c < c1_(); c++) {
		for (uint r = 0; r < KH; r++) {
			for (uint s = 0; s < KW; s++) {
				uint kk = (c * KH + r) * KW + s;
				float a[TM], v[TN];
				for (uint i = 0; i < TM; i += 4) {
					vec4 q = load_rows4(kk * (K4 / 4) + wrow + i / 4);
					a[i] = q.x;
					a[i + 1] = q.y;
					a[i + 2] = q.z;
					a[i + 3] = q.w;
				}
				for (uint j = 0; j < TN; j++) {
					int ih = ih0[j] + int(r), iw = iw0[j] + int(s);
					bool in_ = uint(ih) < H && uint(iw) < W;
					float xv = load_x(in_ ? xbase[j] + (c * H + uint(ih)) * W + uint(iw) : 0);
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

	for (uint j = 0; j < TN; j++) {
		uint col = col0 + j;
		if (col >= COLS) {
			break;
		}
		for (uint i = 0; i < TM; i++) {
			uint k = row0 + i;
			if (k >= ROWS) {
				break;
			}
			out_(k, col, acc[i][j]);
		}
	}
}
