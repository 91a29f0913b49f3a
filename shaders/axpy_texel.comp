#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// axpy with x read through a storage texel buffer (r32f): the engine's test
// kernel for texel-buffer bindings, which the convolution kernels use.

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const float A = 1.0;

layout(push_constant) uniform Push {
	uint n;
} p;

layout(r32f, binding = 0) readonly uniform imageBuffer X;
layout(std430, binding = 1) buffer Y { float y[]; };

void main() {
	uint i = gl_GlobalInvocationID.x;
	GUARD(i, p.n)
	y[i] = A * imageLoad(X, int(i)).x + y[i];
}
