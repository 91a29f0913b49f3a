#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// out[c] (+)= Σ_{n,l} x[n,c,l] for x of N×C×L: the bias gradient of Conv2d,
// ConvTranspose2d (L = OH·OW) and Linear (L = 1). One workgroup per channel.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 18) const bool ACCUM = false;

layout(r32f, binding = 0) readonly uniform imageBuffer X; // a texel view: see elementwise.glsl
layout(std430, binding = 1) buffer Out { float out_[]; };

void main() {
	uint c = gl_WorkGroupID.x;
	GUARD(c, C)
	float v = 0.0;
	for (uint e = gl_LocalInvocationID.x; e < N * L; e += gl_WorkGroupSize.x) {
		v += imageLoad(X, int((e / L * C + c) * L + e % L)).x;
	}
	float sum = wg_sum(v);
	if (gl_LocalInvocationID.x == 0) {
		out_[c] = ACCUM ? out_[c] + sum : sum;
	}
}
