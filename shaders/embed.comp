#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// An embedding (PyTorch's nn.Embedding) of N labels into DIM floats each,
// from a table of CLASSES rows, one invocation per output float:
//   BACKWARD false: y[n, j] = table[label[n], j]
//   BACKWARD true:  dtable[c, j] (+)= Σ_{n: label[n] = c} dy[n, j], the
//                   samples added in order (one invocation per table
//                   float, no atomics), accumulating with ACCUM
// A label past the table reads as the last class (the caller checks).

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 4) const uint N = 1;
layout(constant_id = 60) const uint CLASSES = 1;
layout(constant_id = 61) const uint DIM = 1;
layout(constant_id = 52) const bool BACKWARD = false;
layout(constant_id = 18) const bool ACCUM = false;

layout(std430, binding = 0) readonly buffer Labels { uint label[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };  // the table, or dy
layout(std430, binding = 2) buffer Y { float y[]; };           // y, or dtable

void main() {
	uint i = FLAT_ID();
	if (!BACKWARD) {
		GUARD(i, N * DIM)
		uint n = i / DIM, j = i % DIM;
		y[i] = x[min(label[n], CLASSES - 1u) * DIM + j];
		return;
	}
	GUARD(i, CLASSES * DIM)
	uint c = i / DIM, j = i % DIM;
	float sum = 0.0;
	for (uint n = 0; n < N; n++) {
		if (min(label[n], CLASSES - 1u) == c) {
			sum += x[n * DIM + j];
		}
	}
	y[i] = ACCUM ? y[i] + sum : sum;
}
