#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Rearranges a D0×D1×D2 tensor: element (i0, i1, i2) goes to
// i0·T0 + i1·T1 + i2·T2 of y. The convolutions use it to lay weights out so
// that four neighbouring rows of their GEMM are one vec4 load.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 34) const uint D0 = 1;
layout(constant_id = 35) const uint D1 = 1;
layout(constant_id = 36) const uint D2 = 1;
layout(constant_id = 37) const uint T0 = 1;
layout(constant_id = 38) const uint T1 = 1;
layout(constant_id = 39) const uint T2 = 1;

// Texel views (see elementwise.glsl): no storage-buffer size limit.
layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(r32f, binding = 1) writeonly uniform imageBuffer Y;

void main() {
	uint i = FLAT_ID();
	GUARD(i, D0 * D1 * D2)
	uint i0 = i / (D1 * D2), i1 = i / D2 % D1, i2 = i % D2;
	imageStore(Y, int(i0 * T0 + i1 * T1 + i2 * T2), imageLoad(X, int(i)));
}
