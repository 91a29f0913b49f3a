#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "activation.glsl"

// out[i] (+)= act(Σ_s part[s·COUNT + i] + b[k]), s = 0 … SLICES−1 in
// order: the second pass of a GEMM whose reduction was split into slices
// (conv_wgrad's slices of the batch; conv_fwd's and convt_fwd's of the
// input channels, whose bias and activation come here, with k the channel
// of NCHW element i: (i / L) mod K). Summing in a fixed order keeps the
// result the same bits on every run.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint SLICES = 1;
layout(constant_id = 5) const uint COUNT = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 8) const uint K = 1;
layout(constant_id = 15) const bool BIAS = false;
layout(constant_id = 18) const bool ACCUM = false;

layout(r32f, binding = 0) readonly uniform imageBuffer Part;
layout(r32f, binding = 1) readonly uniform imageBuffer B; // any buffer when !BIAS
layout(r32f, binding = 2) uniform imageBuffer Out;

void main() {
	uint i = FLAT_ID();
	GUARD(i, COUNT)
	float v = 0.0;
	for (uint s = 0; s < SLICES; s++) {
		v += imageLoad(Part, int(s * COUNT + i)).x;
	}
	if (BIAS) {
		v += imageLoad(B, int(i / L % K)).x;
	}
	v = activate(ACT, v, SLOPE);
	imageStore(Out, int(i), vec4(ACCUM ? imageLoad(Out, int(i)).x + v : v));
}
