#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "augment.glsl"

// dx = A(unshift(keep · dy)) (augment.glsl) from augment_draw's backward
// record (whose mean is unshift(keep · dy)'s): one invocation per input
// pixel, all C channels. dx must not be dy.

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Record { vec4 rec[]; };
layout(r32f, binding = 1) readonly uniform imageBuffer DY;
layout(r32f, binding = 2) writeonly uniform imageBuffer DX;

void main() {
	uint id = FLAT_ID();
	GUARD(id, N * H * W)
	uint hw = H * W, n = id / hw, pix = id % hw, base = n * C * hw;
	vec4 a = rec[2 * n], g = rec[2 * n + 1];
	// The output pixel that read this one: the shift's inverse.
	int i = int(pix / W) - int(g.y), j = int(pix % W) - int(g.x), si, sj;
	bool reads = i >= 0 && i < int(H) && j >= 0 && j < int(W) && source(g, i, j, si, sj);
	uint from = base + uint(i) * W + uint(j);
	float mc = 0.0;
	if (reads) {
		for (uint c = 0u; c < C; c++) {
			mc += imageLoad(DY, int(from + c * hw)).x;
		}
	}
	mc /= float(C);
	float k = a.z * a.y, kc = a.z * (1.0 - a.y), k0 = (1.0 - a.z) * a.w;
	for (uint c = 0u; c < C; c++) {
		float h = reads ? imageLoad(DY, int(from + c * hw)).x : 0.0;
		imageStore(DX, int(base + c * hw + pix), vec4(k * h + kc * mc + k0));
	}
}
