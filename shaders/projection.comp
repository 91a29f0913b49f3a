#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// A projection discriminator's class term (Miyato and Koyama 2018;
// StudioGAN's): each of N samples' logit gains the dot product of its
// features h[n] (K floats, D's input to its last dense layer) with its
// class's embedding e[n] (K floats, an Embedding of its label):
//   BACKWARD false: logit[n] += Σ_k e[n, k]·h[n, k]   one workgroup per sample
//   BACKWARD true:  dh[n, k] += dl[n]·e[n, k]          one invocation per float
//                   de[n, k]  = dl[n]·h[n, k]          (the embedding's backward sums it by class)
// dh accumulates onto the gradient the dense layer's backward left there.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 8) const uint K = 1;
layout(constant_id = 52) const bool BACKWARD = false;

layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) readonly buffer E { float e[]; };
layout(std430, binding = 2) buffer Logit { float logit[]; }; // forward: the logits; backward: dl
layout(std430, binding = 3) buffer DH { float dh[]; };
layout(std430, binding = 4) writeonly buffer DE { float de[]; };

void main() {
	if (BACKWARD) {
		uint i = FLAT_ID();
		GUARD(i, N * K)
		float dl = logit[i / K];
		dh[i] += dl * e[i];
		de[i] = dl * h[i];
		return;
	}
	uint n = gl_WorkGroupID.x; // the dispatch has N workgroups
	float v = 0.0;
	for (uint k = gl_LocalInvocationID.x; k < K; k += gl_WorkGroupSize.x) {
		v += e[n * K + k] * h[n * K + k];
	}
	v = wg_sum(v);
	if (gl_LocalInvocationID.x == 0) {
		logit[n] += v;
	}
}
