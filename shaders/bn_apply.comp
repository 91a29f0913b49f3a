#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// BatchNorm2d forward, element-wise, with an activation fused after it:
//   y = act((x − mean[c]) · invstd[c] · γ[c] + β[c])
// In training, stats is bn_stats's saved (mean, invstd); with EVAL it is the
// running (mean, var) and invstd = 1/sqrt(var + ε).

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;
layout(constant_id = 19) const float EPS = 1e-5;
layout(constant_id = 21) const bool EVAL = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Stats { float stats[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Beta { float beta[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

void main() {
	uint i = FLAT_ID();
	GUARD(i, N * C * L)
	uint c = i / L % C;
	float invstd = EVAL ? inversesqrt(stats[C + c] + EPS) : stats[C + c];
	y[i] = activate(ACT, (x[i] - stats[c]) * invstd * gamma[c] + beta[c], SLOPE);
}
