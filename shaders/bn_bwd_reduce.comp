#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"
#include "activation.glsl"

// BatchNorm2d backward, first pass, one workgroup per channel: with
// g = dy · act'(y) the gradient at the normalised output and x̂ = (x −
// mean)·invstd, it sums Σg and Σg·x̂ into sums (for bn_bwd_data) and adds
// them to dβ and dγ.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;

// x, y and dy are read through texel views (see elementwise.glsl).
layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(r32f, binding = 1) readonly uniform imageBuffer Yb; // any buffer of the size when ACT is none
layout(r32f, binding = 2) readonly uniform imageBuffer DY;
layout(std430, binding = 3) readonly buffer Saved { float saved[]; };
layout(std430, binding = 4) writeonly buffer Sums { float sums[]; }; // Σg[C], Σg·x̂[C]
layout(std430, binding = 5) buffer DGamma { float dgamma[]; };
layout(std430, binding = 6) buffer DBeta { float dbeta[]; };

const uint M = N * L;

void main() {
	uint c = gl_WorkGroupID.x;
	GUARD(c, C)
	float mean = saved[c], invstd = saved[C + c];
	float sg = 0.0, sgx = 0.0;
	for (uint e = gl_LocalInvocationID.x; e < M; e += gl_WorkGroupSize.x) {
		uint i = (e / L * C + c) * L + e % L;
		float d = imageLoad(DY, int(i)).x;
		float g = ACT == ACT_NONE ? d : d * dact(ACT, imageLoad(Yb, int(i)).x, SLOPE);
		sg += g;
		sgx += g * (imageLoad(X, int(i)).x - mean) * invstd;
	}
	sg = wg_sum(sg);
	sgx = wg_sum(sgx);
	if (gl_LocalInvocationID.x == 0) {
		sums[c] = sg;
		sums[C + c] = sgx;
		dbeta[c] += sg;
		dgamma[c] += sgx;
	}
}
