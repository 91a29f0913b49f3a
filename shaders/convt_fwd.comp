#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "gemm.glsl"
#include "conv_geom.glsl"
#include "activation.glsl"

// ConvTranspose2d forward, PyTorch semantics, in gather form:
//   y[n,o,oh,ow] = act(b[o] + Σ x[n,i,ih,iw] · w[i,o,r,s])
//   over every (i, r, s) with oh = ih·S − P + r and ow = iw·S − P + s.
// x is N×C×H×W, w is C×K×KH×KW (PyTorch's [in][out][kh][kw]), y is
// N×K×OH×OW. One dispatch covers one output phase (oh mod S, ow mod S) = (PH,
// PW): within a phase only every S-th kernel row and column reaches the
// output, so the reduction runs over C·⌈KH/S⌉·⌈KW/S⌉ taps, all of them real,
// and each output is still written by exactly one invocation. The phase is
// a specialization constant so the tap loops have constant bounds and
// unroll (a run-time phase ran 35–40 % slower on lavapipe). They are marked
// [[unroll]] too: left to itself, lavapipe's LLVM kept the 2- and 3-long tap
// loops of some phases as loops, and a phase with 4 taps took as long as
// one with 9; unrolled, dcgan64's first two transposed convs ran 1.3–1.5×
// faster (878 → 566 ms and 690 → 522 ms at batch 64; go test -bench
// 'Conv/dcgan64/G' ./layers/). Forcing the same on conv_fwd's 5×5 loop made
// it 1.5× slower. It is also Conv2d's
// backward-data (a conv weight K×C×KH×KW read as [in=K][out=C]) and Linear's.
// The weight comes rearranged (layers' permute) as wt, C×KH×KW rows of K4 =
// K rounded up to 4 floats, so one vec4 load gives four output channels.
// SPLIT > 1 splits the reduction over slices of the input channels, as
// conv_fwd does.

layout(constant_id = 15) const bool BIAS = false;
layout(constant_id = 18) const bool ACCUM = false;
layout(constant_id = 32) const uint PH = 0; // the output phase
layout(constant_id = 33) const uint PW = 0;
layout(constant_id = 40) const uint SPLIT = 1;

// x and wt are read through texel buffers or their storage twins (see
// conv_fwd).
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

const uint QH = (OH + S - 1) / S; // output rows of one phase
const uint QW = (OW + S - 1) / S;
const uint ROWS = K;
const uint COLS = N * QH * QW;
const uint K4 = (K + 3) / 4 * 4;

// The kernel rows that reach output rows of phase PH are R0, R0+S, …; tap
// jr reads input row qh + DH0 − jr.
const uint R0 = (PH + P) % S, S0 = (PW + P) % S;
const uint TR = R0 < KH ? (KH - R0 + S - 1) / S : 0;
const uint TS = S0 < KW ? (KW - S0 + S - 1) / S : 0;
const int DH0 = int((PH + P - R0) / S), DW0 = int((PW + P - S0) / S);

// This workgroup's slice of the input channels. Unsplit, the bounds are
// the constants 0 and C, so the channel loop compiles as it did before
// there were slices (lavapipe ran dcgan64 a fifth slower with run-time
// bounds).
uint slice_() { return gl_WorkGroupID.y / (gl_NumWorkGroups.y / SPLIT); }
uint c0_() { return SPLIT == 1 ? 0 : slice_() * C / SPLIT; }
uint c1_() { return SPLIT == 1 ? C : (slice_() + 1) * C / SPLIT; }

// out writes output (k, col) of the phase: bias, activation, and ACCUM's
// sum; a slice of a split reduction writes its raw sum to its part.
void out_(uint k, uint col, float v) {
	uint n = col / (QH * QW), q = col % (QH * QW);
	uint oh = q / QW * S + PH, ow = q % QW * S + PW;
	if (oh >= OH || ow >= OW) {
		return;
	}
	uint o = ((n * K + k) * OH + oh) * OW + ow;
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

// The operands for gemm_shared at reduction step kk = (c, jr, js) of the
// slice.
vec4 shared_a4(uint kk, uint row) {
	kk += c0_() * TR * TS;
	uint c = kk / (TR * TS), t = kk % (TR * TS);
	uint r = R0 + t / TS * S, s = S0 + t % TS * S;
	return load_rows4(((c * KH + r) * KW + s) * (K4 / 4) + row / 4);
}
// A column is an output position of the phase: its sample's input and the
// input position its first tap reads.
ivec3 shared_b_col(uint col) {
	uint n = col / (QH * QW), q = col % (QH * QW);
	return ivec3(n * C * H * W, int(q / QW) + DH0, int(q % QW) + DW0);
}
float shared_b(uint kk, ivec3 at) {
	kk += c0_() * TR * TS;
	uint c = kk / (TR * TS), t = kk % (TR * TS);
	int ih = at.y - int(t / TS), iw = at.z - int(t % TS);
	bool in_ = uint(ih) < H && uint(iw) < W;
	return in_ ? load_x(uint(at.x) + (c * H + uint(ih)) * W + uint(iw)) : 0.0;
}
void shared_store(uint row, uint col, float v) { out_(row, col, v); }
#define RED ((c1_() - c0_()) * TR * TS)
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
	uint xbase[TN];
	int ih0[TN], iw0[TN];
	for (uint j = 0; j < TN; j++) {
		uint col = min(col0 + j, COLS - 1);
		uint n = col / (QH * QW), q = col % (QH * QW);
		xbase[j] = n * C * H * W;
		ih0[j] = int(q / QW) + DH0;
		iw0[j] = int(q % QW) + DW0;
	}
	uint wrow = row0 / 4; // TM is a multiple of 4 (see conv_fwd)

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
// TAP(c, jr, js) adds one kernel tap of input channel c to the block.
#define TAP(c, jr, js) { \
		uint r = R0 + (jr) * S, s = S0 + (js) * S; \
		float a[TM], v[TN]; \
		for (uint i = 0; i < TM; i += 4) { \
			vec4 q = load_rows4((((c) * KH + r) * KW + s) * (K4 / 4) + wrow + i / 4); \
			a[i] = q.x; \
			a[i + 1] = q.y; \
			a[i + 2] = q.z; \
			a[i + 3] = q.w; \
		} \
		for (uint j = 0; j < TN; j++) { \
			int ih = ih0[j] - int(jr), iw = iw0[j] - int(js); \
			bool in_ = uint(ih) < H && uint(iw) < W; \
			float xv = load_x(in_ ? xbase[j] + ((c) * H + uint(ih)) * W + uint(iw) : 0); \
			v[j] = in_ ? xv : 0.0; \
		} \
		for (uint i = 0; i < TM; i++) { \
			for (uint j = 0; j < TN; j++) { \
				acc[i][j] = fma(a[i], v[j], acc[i][j]); \
			} \
		} \
	}
	// A strided conv's phases have 2–3 taps a side, which lavapipe runs
	// fastest unrolled by force; stride 1 has the whole 5×5, which it runs
	// fastest left to itself (forced, 1.5× slower: 89 → 149 ms for dcgan28's
	// first transposed conv). S is a constant: one branch is compiled.
	if (S > 1) {
		for (uint c = c0_(); c < c1_(); c++) {
			[[unroll]] for (uint jr = 0; jr < TR; jr++) {
				[[unroll]] for (uint js = 0; js < TS; js++) {
					TAP(c, jr, js)
				}
			}
		}
	} else {
		for (uint c = c0_(); c < c1_(); c++) {
			for (uint jr = 0; jr < TR; jr++) {
				for (uint js = 0; js < TS; js++) {
					TAP(c, jr, js)
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
