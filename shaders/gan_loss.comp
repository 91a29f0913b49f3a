#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// A GAN's loss on the discriminator's logits l for the whole batch,
// averaged over it, for one ROLE: the discriminator on real images (0), on
// fakes (1), or the generator on fakes (2). One workgroup.
//   BCE (the DCGAN paper's; the generator's non-saturating form), target t
//   1 for ROLE 0 and 2, 0 for ROLE 1:
//     loss = 1/B Σ max(l,0) − l·t + log(1 + e^−|l|)   (no overflow for any l)
//     dl   = (σ(l) − t) / B
//   HINGE (Lim and Ye 2017; SNGAN, Miyato et al. 2018):
//     ROLE 0: relu(1 − l), ROLE 1: relu(1 + l), ROLE 2: −l; dl its slope / B
// and the step's statistics, three floats from 3·SLOT:
//   the loss, mean σ(l) (D(x) or D(G(z))), mean sign(l) (ADA's r_t on reals)

layout(constant_id = 4) const uint B = 1;
layout(constant_id = 23) const uint SLOT = 0;
layout(constant_id = 53) const uint ROLE = 0;
layout(constant_id = 54) const bool HINGE = false;

layout(std430, binding = 0) readonly buffer Logits { float logit[]; };
layout(std430, binding = 1) writeonly buffer DL { float dl[]; };
layout(std430, binding = 2) buffer Stats { float stats[]; };

// log(1 + e^−|l|), accurate when e^−|l| is tiny.
float log1p_exp_neg_abs(float l) {
	float e = exp(-abs(l));
	return e < 1e-4 ? e * (1.0 - 0.5 * e) : log(1.0 + e);
}

void main() {
	const float t = ROLE == 1u ? 0.0 : 1.0;
	float loss = 0.0, prob = 0.0, signs = 0.0;
	for (uint b = gl_LocalInvocationID.x; b < B; b += gl_WorkGroupSize.x) {
		float l = logit[b];
		float p = sigmoid(l);
		if (!HINGE) {
			loss += max(l, 0.0) - l * t + log1p_exp_neg_abs(l);
			dl[b] = (p - t) / float(B);
		} else if (ROLE == 0u) {
			loss += max(1.0 - l, 0.0);
			dl[b] = l < 1.0 ? -1.0 / float(B) : 0.0;
		} else if (ROLE == 1u) {
			loss += max(1.0 + l, 0.0);
			dl[b] = l > -1.0 ? 1.0 / float(B) : 0.0;
		} else {
			loss -= l;
			dl[b] = -1.0 / float(B);
		}
		prob += p;
		signs += sign(l);
	}
	loss = wg_sum(loss);
	prob = wg_sum(prob);
	signs = wg_sum(signs);
	if (gl_LocalInvocationID.x == 0) {
		stats[3 * SLOT] = loss / float(B);
		stats[3 * SLOT + 1] = prob / float(B);
		stats[3 * SLOT + 2] = signs / float(B);
	}
}
