#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// sums[g] = Σ a[i]·b[i] over chunk g, i in [g·CHUNK, (g+1)·CHUNK) ∩
// [0, COUNT): the first half of a dot product of two long vectors in a
// fixed order (sn_vec's MODE 3 adds the partial sums). One workgroup per
// chunk.

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 59) const uint CHUNK = 4096;

layout(r32f, binding = 0) readonly uniform imageBuffer A;
layout(r32f, binding = 1) readonly uniform imageBuffer B;
layout(std430, binding = 2) writeonly buffer Sums { float sums[]; };

void main() {
	uint g = gl_WorkGroupID.x, lo = g * CHUNK, hi = min(lo + CHUNK, COUNT);
	float v = 0.0;
	for (uint i = lo + gl_LocalInvocationID.x; i < hi; i += gl_WorkGroupSize.x) {
		v += imageLoad(A, int(i)).x * imageLoad(B, int(i)).x;
	}
	v = wg_sum(v);
	if (gl_LocalInvocationID.x == 0) {
		sums[g] = v;
	}
}
