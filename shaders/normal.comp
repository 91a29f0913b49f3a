#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"

// z ~ N(0, 1): Philox at counter (element/4, STREAM, step, 1) with key seed
// (seed and step from the clock buffer), two Box–Muller pairs per four
// elements. The same (seed, step, STREAM) gives the same z on every run.
// FIRST (a multiple of 4) is the index of element 0 in the whole draw: a
// rank of a data-parallel run draws its rows of the global batch's z.

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 25) const uint STREAM = 0;
layout(constant_id = 49) const uint FIRST = 0;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; };
TENSOR_OUT(Z, 1)

const float TAU = 6.283185307179586;

void main() {
	ELEMENTWISE(COUNT)
	uvec4 r = philox(uvec4(q + FIRST / 4, STREAM, clock[2], 1), uvec2(clock[0], clock[1]));
	float r0 = sqrt(-2.0 * log(uniform01(r.x))), r1 = sqrt(-2.0 * log(uniform01(r.z)));
	float t0 = TAU * uniform01(r.y), t1 = TAU * uniform01(r.w);
	STOREV(Z, vec4(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1)))
}
