#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// dx = dy · act'(x), written from the forward output y (see dact);
// dx may be dy.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;

layout(std430, binding = 0) readonly buffer Yb { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
	uint i = FLAT_ID();
	GUARD(i, COUNT)
	dx[i] = dy[i] * dact(ACT, y[i], SLOPE);
}
