#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// Binary cross-entropy on logits l against one target t for the whole batch
// (1 for real, 0 for fake, 1 on fakes for the generator's non-saturating
// loss), averaged over the batch. One workgroup:
//   loss   = 1/B Σ max(l,0) − l·t + log(1 + e^−|l|)   (no overflow for any l)
//   dl[b]  = (σ(l[b]) − t) / B
//   stats[3·SLOT] = loss, stats[3·SLOT+1] = mean σ(l)  (D(x) or D(G(z))),
//   stats[3·SLOT+2] = mean sign(l)  (ADA's overfitting heuristic r_t on reals)

layout(constant_id = 4) const uint B = 1;
layout(constant_id = 22) const float TARGET = 1.0;
layout(constant_id = 23) const uint SLOT = 0;

layout(std430, binding = 0) readonly buffer Logits { float logit[]; };
layout(std430, binding = 1) writeonly buffer DL { float dl[]; };
layout(std430, binding = 2) buffer Stats { float stats[]; };

// log(1 + e^−|l|), accurate when e^−|l| is tiny.
float log1p_exp_neg_abs(float l) {
	float e = exp(-abs(l));
	return e < 1e-4 ? e * (1.0 - 0.5 * e) : log(1.0 + e);
}

void main() {
	float loss = 0.0, prob = 0.0, signs = 0.0;
	for (uint b = gl_LocalInvocationID.x; b < B; b += gl_WorkGroupSize.x) {
		float l = logit[b];
		float p = sigmoid(l);
		loss += max(l, 0.0) - l * TARGET + log1p_exp_neg_abs(l);
		prob += p;
		signs += sign(l);
		dl[b] = (p - TARGET) / float(B);
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
