#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "augment.glsl"

// Flips each of N C×H×W images (augment.glsl's geometry) left-right, in place, with probability ½:
// the sample's coin is the top bit of Philox at counter (FIRST + n,
// STREAM, step, 5) with the clock's seed as key (augment_draw draws at
// w 2–4, dropout at 0, z at 1). One invocation per pair of pixels it swaps.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 25) const uint STREAM = 0;
layout(constant_id = 49) const uint FIRST = 0;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; }; // seed lo, seed hi, step
layout(r32f, binding = 1) uniform imageBuffer X;

void main() {
	uint id = FLAT_ID(), half_ = W / 2u;
	GUARD(id, N * C * H * half_)
	uint row = id / half_, j = id % half_, n = row / (C * H);
	if (philox(uvec4(FIRST + n, STREAM, clock[2], 5), uvec2(clock[0], clock[1])).x >> 31 == 0u) {
		return;
	}
	int a = int(row * W + j), b = int(row * W + W - 1u - j);
	vec4 va = imageLoad(X, a), vb = imageLoad(X, b);
	imageStore(X, a, vb);
	imageStore(X, b, va);
}
