#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// Image completion's loss (Yeh et al. 2017) for B images of P floats, as
// two kernels of this shader:
// PERCEPTUAL, one workgroup: from the discriminator's logits l,
//   loss[2b+1] = λ·log(1 − σ(l_b)) = −λ·softplus(l_b),  dl_b = −λ·σ(l_b)
// else, one workgroup per image: the L1 distance to the known pixels,
// weighted by w (0 in the hole), and the image's whole gradient,
//   loss[2b] = Σ_p w_p·|x_p − y_p|,  dx_p = dd_p + w_p·sign(x_p − y_p)
// where dd = ∂(perceptual)/∂x is the discriminator's input gradient from dl.

layout(constant_id = 4) const uint B = 1;
layout(constant_id = 14) const uint P = 1;
layout(constant_id = 47) const float LAMBDA = 0.1;
layout(constant_id = 48) const bool PERCEPTUAL = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer Logit { float logit[]; };
layout(std430, binding = 4) readonly buffer DD { float dd[]; };
layout(std430, binding = 5) writeonly buffer DX { float dx[]; };
layout(std430, binding = 6) writeonly buffer DL { float dl[]; };
layout(std430, binding = 7) buffer Loss { float loss[]; };

void main() {
	uint t = gl_LocalInvocationID.x;
	if (PERCEPTUAL) {
		for (uint b = t; b < B; b += gl_WorkGroupSize.x) {
			float l = logit[b];
			float softplus = max(l, 0.0) + log(1.0 + exp(-abs(l)));
			loss[2 * b + 1] = -LAMBDA * softplus;
			dl[b] = -LAMBDA / (1.0 + exp(-l));
		}
		return;
	}
	uint b = gl_WorkGroupID.x, base = b * P;
	float sum = 0.0;
	for (uint p = t; p < P; p += gl_WorkGroupSize.x) {
		float d = x[base + p] - y[base + p], wp = w[base + p];
		sum += wp * abs(d);
		dx[base + p] = dd[base + p] + wp * sign(d);
	}
	sum = wg_sum(sum);
	if (t == 0) {
		loss[2 * b] = sum;
	}
}
