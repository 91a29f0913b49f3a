#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// out[i] (+)= Σ_s part[s·COUNT + i], s = 0 … SLICES−1 in order: the second
// pass of a filter gradient whose reduction conv_wgrad split into slices of
// the batch. Summing in a fixed order keeps the result the same bits on
// every run.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint SLICES = 1;
layout(constant_id = 5) const uint COUNT = 1;
layout(constant_id = 18) const bool ACCUM = false;

layout(r32f, binding = 0) readonly uniform imageBuffer Part;
layout(r32f, binding = 1) uniform imageBuffer Out;

void main() {
	uint i = FLAT_ID();
	GUARD(i, COUNT)
	float v = 0.0;
	for (uint s = 0; s < SLICES; s++) {
		v += imageLoad(Part, int(s * COUNT + i)).x;
	}
	imageStore(Out, int(i), vec4(ACCUM ? imageLoad(Out, int(i)).x + v : v));
}
