#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// y = A·x + y over n floats. The engine's own test kernel: A is fixed per
// kernel (specialization constant 1), n comes with each dispatch (push
// constant), and the workgroup size is specialization constant 0.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const float A = 1.0;

layout(push_constant) uniform Push {
	uint n;
} p;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };

void main() {
	uint i = gl_GlobalInvocationID.x;
	GUARD(i, p.n)
	y[i] = A * x[i] + y[i];
}
