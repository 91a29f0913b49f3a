#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// BatchNorm2d backward, second pass, element-wise (M = N·L values per
// channel, g and x̂ as in bn_bwd_reduce):
//   dx = γ·invstd/M · (M·g − Σg − x̂·Σg·x̂)

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Yb { float y[]; }; // any buffer when ACT is none
layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) readonly buffer Saved { float saved[]; };
layout(std430, binding = 4) readonly buffer Sums { float sums[]; };
layout(std430, binding = 5) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 6) writeonly buffer DX { float dx[]; };

void main() {
	uint i = FLAT_ID();
	GUARD(i, N * C * L)
	uint c = i / L % C;
	float M = float(N * L);
	float invstd = saved[C + c];
	float g = ACT == ACT_NONE ? dy[i] : dy[i] * dact(ACT, y[i], SLOPE);
	float xhat = (x[i] - saved[c]) * invstd;
	dx[i] = gamma[c] * invstd / M * (M * g - sums[c] - xhat * sums[C + c]);
}
