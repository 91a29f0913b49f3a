#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"
#include "activation.glsl"

// BatchNorm2d backward, second pass, element-wise (M = N·L values per
// channel, g and x̂ as in bn_bwd_reduce):
//   dx = γ·invstd/M · (M·g − Σg − x̂·Σg·x̂)
// With EVAL, the gradient of eval mode (the running statistics, fixed):
//   dx = γ·g/sqrt(var + ε), saved the running (mean, var); X and Sums unread.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 19) const float EPS = 1e-5;
layout(constant_id = 21) const bool EVAL = false;

TENSOR_IN(X, 0)
TENSOR_IN(Yb, 2) // any buffer of the size when ACT is none
TENSOR_IN(DY, 4)
layout(std430, binding = 6) readonly buffer Saved { float saved[]; };
layout(std430, binding = 7) readonly buffer Sums { float sums[]; };
layout(std430, binding = 8) readonly buffer Gamma { float gamma[]; };
TENSOR_OUT(DX, 9)

float grad(uint i, float x, float g) {
	uint c = i / L % C;
	if (EVAL) {
		return gamma[c] * inversesqrt(saved[C + c] + EPS) * g;
	}
	float m = float(N * L), invstd = saved[C + c];
	float xhat = (x - saved[c]) * invstd;
	return gamma[c] * invstd / m * (m * g - sums[c] - xhat * sums[C + c]);
}

void main() {
	ELEMENTWISE(N * C * L)
	vec4 x = LOADV(X);
	vec4 g = ACT == ACT_NONE ? LOADV(DY) : LOADV(DY) * dact4(ACT, LOADV(Yb), SLOPE);
	STOREV(DX, vec4(grad(ELEMENT(0), x.x, g.x), grad(ELEMENT(1), x.y, g.y), grad(ELEMENT(2), x.z, g.z), grad(ELEMENT(3), x.w, g.w)))
}
