#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// Spectral norm's vector steps on COUNT floats of t, one workgroup, as
// PyTorch's F.normalize(t, eps=1e-12) and torch.dot:
//   MODE 0: x = t / max(‖t‖, ε)                v = Wᵀu normalised
//   MODE 1: x = t / max(‖t‖, ε), out = x·t     u = Wv normalised, σ = uᵀWv
//   MODE 2: out = x·t                          σ = uᵀWv with the kept u
//   MODE 3: out = Σ t                          a sum of partial sums

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 58) const uint MODE = 0;

layout(std430, binding = 0) readonly buffer T { float t[]; };
layout(std430, binding = 1) buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Out { float out_[]; };

void main() {
	uint i0 = gl_LocalInvocationID.x, step = gl_WorkGroupSize.x;
	float scale = 1.0;
	if (MODE <= 1u) {
		float ss = 0.0;
		for (uint i = i0; i < COUNT; i += step) {
			ss += t[i] * t[i];
		}
		scale = 1.0 / max(sqrt(wg_sum(ss)), 1e-12);
		for (uint i = i0; i < COUNT; i += step) {
			x[i] = t[i] * scale;
		}
	}
	if (MODE == 0u) {
		return;
	}
	// σ reads u back as it was stored (each invocation its own floats), so
	// MODE 1's σ and MODE 2's from the same u and Wv are the same bits: a
	// resumed run's σ is the one the run had.
	float v = 0.0;
	for (uint i = i0; i < COUNT; i += step) {
		v += MODE == 3u ? t[i] : x[i] * t[i];
	}
	v = wg_sum(v);
	if (i0 == 0) {
		out_[0] = v;
	}
}
