#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// BatchNorm2d statistics in training mode, one workgroup per channel of x
// (N×C×L). Two passes over the channel: the mean, then the mean squared
// deviation from it (never E[x²]−E[x]², which cancels). saved gets the mean
// and 1/sqrt(var+ε) with the biased variance (what normalises and what
// backward needs); the running mean and variance move towards the batch's by
// MOMENTUM, with the unbiased variance, as PyTorch does.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 19) const float EPS = 1e-5;
layout(constant_id = 20) const float MOMENTUM = 0.1;

layout(r32f, binding = 0) readonly uniform imageBuffer X; // a texel view: see elementwise.glsl
layout(std430, binding = 1) writeonly buffer Saved { float saved[]; }; // mean[C], invstd[C]
layout(std430, binding = 2) buffer Running { float running[]; };       // mean[C], var[C]

const uint M = N * L;

void main() {
	uint c = gl_WorkGroupID.x;
	GUARD(c, C)
	float s = 0.0;
	for (uint e = gl_LocalInvocationID.x; e < M; e += gl_WorkGroupSize.x) {
		s += imageLoad(X, int((e / L * C + c) * L + e % L)).x;
	}
	float mean = wg_sum(s) / float(M);
	float q = 0.0;
	for (uint e = gl_LocalInvocationID.x; e < M; e += gl_WorkGroupSize.x) {
		float d = imageLoad(X, int((e / L * C + c) * L + e % L)).x - mean;
		q += d * d;
	}
	float ss = wg_sum(q);
	if (gl_LocalInvocationID.x == 0) {
		float var = ss / float(M);
		saved[c] = mean;
		saved[C + c] = inversesqrt(var + EPS);
		float unbiased = M > 1 ? ss / float(M - 1) : var;
		running[c] = (1.0 - MOMENTUM) * running[c] + MOMENTUM * mean;
		running[C + c] = (1.0 - MOMENTUM) * running[C + c] + MOMENTUM * unbiased;
	}
}
