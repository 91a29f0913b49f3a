#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "augment.glsl"

// y = keep · shift(A(x) + b) (augment.glsl) from augment_draw's record:
// one invocation per output pixel, all C channels. y must not be x.

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Record { vec4 rec[]; };
layout(r32f, binding = 1) readonly uniform imageBuffer X;
layout(r32f, binding = 2) writeonly uniform imageBuffer Y;

void main() {
	uint id = FLAT_ID();
	GUARD(id, N * H * W)
	uint hw = H * W, n = id / hw, pix = id % hw, base = n * C * hw;
	vec4 a = rec[2 * n], g = rec[2 * n + 1];
	int si, sj;
	if (!source(g, int(pix / W), int(pix % W), si, sj)) {
		for (uint c = 0u; c < C; c++) {
			imageStore(Y, int(base + c * hw + pix), vec4(0.0));
		}
		return;
	}
	uint src = base + uint(si) * W + uint(sj);
	float mc = 0.0;
	for (uint c = 0u; c < C; c++) {
		mc += imageLoad(X, int(src + c * hw)).x;
	}
	mc /= float(C);
	// A(x) + b with b, s, c, mean = a
	float k = a.z * a.y, kc = a.z * (1.0 - a.y), k0 = (1.0 - a.z) * a.w + a.x;
	for (uint c = 0u; c < C; c++) {
		imageStore(Y, int(base + c * hw + pix), vec4(k * imageLoad(X, int(src + c * hw)).x + kc * mc + k0));
	}
}
