#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"

// ConvTranspose2d forward, PyTorch semantics, in gather form:
//   y[n,o,oh,ow] = act(b[o] + Σ x[n,i,ih,iw] · w[i,o,r,s])
//   over every (i, r, s) with oh = ih·S − P + r and ow = iw·S − P + s.
// x is N×C×H×W, w is C×K×KH×KW (PyTorch's [in][out][kh][kw]), y is
// N×K×OH×OW. Workgroup z picks one output phase (oh mod S, ow mod S); within
// a phase only every S-th kernel row and column reaches the output, so the
// reduction runs over C·⌈KH/S⌉·⌈KW/S⌉ taps, all of them real, and each
// output is still written by exactly one invocation. It is also Conv2d's
// backward-data (a conv weight K×C×KH×KW read as [in=K][out=C]) and Linear's.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint H = 1;
layout(constant_id = 7) const uint W = 1;
layout(constant_id = 8) const uint K = 1;
layout(constant_id = 9) const uint OH = 1;
layout(constant_id = 10) const uint OW = 1;
layout(constant_id = 11) const uint KH = 1;
layout(constant_id = 12) const uint KW = 1;
layout(constant_id = 13) const uint S = 1;
layout(constant_id = 14) const uint P = 0;
layout(constant_id = 15) const bool BIAS = false;
layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;
layout(constant_id = 18) const bool ACCUM = false;

// x and w are read through texel buffers (see conv_fwd).
layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(r32f, binding = 1) readonly uniform imageBuffer Wt;
layout(std430, binding = 2) readonly buffer B { float b[]; }; // any buffer when !BIAS
layout(std430, binding = 3) buffer Y { float y[]; };

const uint QH = (OH + S - 1) / S; // output rows of one phase
const uint QW = (OW + S - 1) / S;
const uint ROWS = K;
const uint COLS = N * QH * QW;

void main() {
	uint row0 = tile_row0(), col0 = tile_col0();
	GUARD(row0, ROWS)
	GUARD(col0, COLS)
	uint ph = gl_WorkGroupID.z / S, pw = gl_WorkGroupID.z % S;
	// The kernel rows that reach output rows of phase ph are r0, r0+S, …;
	// tap jr reads input row qh + dh0 − jr.
	uint r0 = (ph + P) % S, s0 = (pw + P) % S;
	uint TR = r0 < KH ? (KH - r0 + S - 1) / S : 0;
	uint TS = s0 < KW ? (KW - s0 + S - 1) / S : 0;
	int dh0 = int((ph + P - r0) / S), dw0 = int((pw + P - s0) / S);

	uint xbase[TN];
	int ih0[TN], iw0[TN];
	for (uint j = 0; j < TN; j++) {
		uint col = min(col0 + j, COLS - 1);
		uint n = col / (QH * QW), q = col % (QH * QW);
		xbase[j] = n * C * H * W;
		ih0[j] = int(q / QW) + dh0;
		iw0[j] = int(q % QW) + dw0;
	}
	uint orow[TM];
	for (uint i = 0; i < TM; i++) {
		orow[i] = min(row0 + i, ROWS - 1);
	}

	float acc[TM][TN];
	for (uint i = 0; i < TM; i++) {
		for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
	for (uint c = 0; c < C; c++) {
		for (uint jr = 0; jr < TR; jr++) {
			for (uint js = 0; js < TS; js++) {
				uint r = r0 + jr * S, s = s0 + js * S;
				float a[TM], v[TN];
				for (uint i = 0; i < TM; i++) {
					a[i] = imageLoad(Wt, int(((c * K + orow[i]) * KH + r) * KW + s)).x;
				}
				for (uint j = 0; j < TN; j++) {
					int ih = ih0[j] - int(jr), iw = iw0[j] - int(js);
					bool in_ = uint(ih) < H && uint(iw) < W;
					float xv = imageLoad(X, int(in_ ? xbase[j] + (c * H + uint(ih)) * W + uint(iw) : 0)).x;
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
		uint n = col / (QH * QW), q = col % (QH * QW);
		uint oh = q / QW * S + ph, ow = q % QW * S + pw;
		if (oh >= OH || ow >= OW) {
			continue;
		}
		for (uint i = 0; i < TM; i++) {
			uint k = row0 + i;
			if (k >= ROWS) {
				break;
			}
			uint o = ((n * K + k) * OH + oh) * OW + ow;
			float v = acc[i][j];
			if (BIAS) {
				v += b[k];
			}
			v = activate(ACT, v, SLOPE);
			y[o] = ACCUM ? y[o] + v : v;
		}
	}
}
