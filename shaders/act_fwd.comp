#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// y = act(x), element-wise over COUNT values; y may be x.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main() {
	uint i = FLAT_ID();
	GUARD(i, COUNT)
	y[i] = activate(ACT, x[i], SLOPE);
}
