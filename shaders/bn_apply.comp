#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"
#include "activation.glsl"

// BatchNorm2d forward, element-wise, with an activation fused after it:
//   y = act((x − mean[c]) · invstd[c] · γ[c] + β[c])
// In training, stats is bn_stats's saved (mean, invstd); with EVAL it is the
// running (mean, var) and invstd = 1/sqrt(var + ε).

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 19) const float EPS = 1e-5;
layout(constant_id = 21) const bool EVAL = false;

TENSOR_IN(X, 0)
layout(std430, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, binding = 3) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 4) readonly buffer Beta { float beta[]; };
TENSOR_OUT(Y, 5)

// The four floats of a vec4 can lie in two channels when L is not a
// multiple of 4, so each takes its own.
float norm(uint i, float x) {
	uint c = i / L % C;
	float invstd = EVAL ? inversesqrt(stats[C + c] + EPS) : stats[C + c];
	return (x - stats[c]) * invstd * gamma[c] + beta[c];
}

void main() {
	ELEMENTWISE(N * C * L)
	vec4 x = LOADV(X);
	vec4 y = vec4(norm(ELEMENT(0), x.x), norm(ELEMENT(1), x.y), norm(ELEMENT(2), x.z), norm(ELEMENT(3), x.w));
	STOREV(Y, activate4(ACT, y, SLOPE))
}
