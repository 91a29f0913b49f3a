#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Inverted dropout: y = x · keep / (1 − P), keep drawn per element from
// Philox at counter (element/4, STREAM, step) with key seed, where seed and
// step come from the clock buffer. Backward is the same dispatch on dy: the
// same clock gives the same mask, so no mask is stored. y may be x.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 24) const float P = 0.5;
layout(constant_id = 25) const uint STREAM = 0;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; }; // seed lo, seed hi, step
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

void main() {
	uint q = FLAT_ID(); // four elements each
	GUARD(4 * q, COUNT)
	uvec4 r = philox(uvec4(q, STREAM, clock[2], 0), uvec2(clock[0], clock[1]));
	float scale = 1.0 / (1.0 - P);
	for (uint k = 0; k < 4 && 4 * q + k < COUNT; k++) {
		uint i = 4 * q + k;
		y[i] = uniform01(r[k]) > P ? x[i] * scale : 0.0;
	}
}
