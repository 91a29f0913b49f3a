#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"

// Inverted dropout: y = x · keep / (1 − P), keep drawn per element from
// Philox at counter (element/4, STREAM, step) with key seed, where seed and
// step come from the clock buffer. Backward is the same dispatch on dy: the
// same clock gives the same mask, so no mask is stored. y may be x.
// FIRST (a multiple of 4) is the index of element 0 in the whole mask: a
// rank of a data-parallel run draws its rows of the global batch's mask.

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 24) const float P = 0.5;
layout(constant_id = 25) const uint STREAM = 0;
layout(constant_id = 49) const uint FIRST = 0;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; }; // seed lo, seed hi, step
TENSOR_IN(X, 1)
TENSOR_OUT(Y, 3)

void main() {
	ELEMENTWISE(COUNT)
	uvec4 r = philox(uvec4(q + FIRST / 4, STREAM, clock[2], 0), uvec2(clock[0], clock[1]));
	vec4 u = vec4(uniform01(r.x), uniform01(r.y), uniform01(r.z), uniform01(r.w));
	STOREV(Y, mix(vec4(0.0), LOADV(X) * (1.0 / (1.0 - P)), greaterThan(u, vec4(P))))
}
