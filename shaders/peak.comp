#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The device's fp32 multiply-add rate, for gan-vk bench's roofline bounds
// (layers.PeakFLOPs): each invocation runs 8 independent chains of ITER
// fused multiply-adds, a ← a·M + A, with no memory traffic but one store
// of their sum at the end (so nothing can be left out). Chain j starts at
// (i mod 7 + j)/64 for invocation i.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 5) const uint ITER = 1;

layout(r32f, binding = 0) writeonly uniform imageBuffer Y;

const float M = 0.999, A = 0.001;

void main() {
	uint i = FLAT_ID();
	GUARD(i, COUNT)
	float a[8];
	for (uint j = 0; j < 8; j++) {
		a[j] = float(i % 7 + j) / 64.0;
	}
	for (uint k = 0; k < ITER; k++) {
		for (uint j = 0; j < 8; j++) {
			a[j] = fma(a[j], M, A);
		}
	}
	float s = 0.0;
	for (uint j = 0; j < 8; j++) {
		s += a[j];
	}
	imageStore(Y, int(i), vec4(s));
}
