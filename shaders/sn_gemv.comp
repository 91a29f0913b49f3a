#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// Spectral norm's matrix-vector products with a weight W of ROWS×COLS
// (PyTorch's weight.reshape(out, -1), row-major), in a fixed order:
//   TRANSPOSE false: y = W·x, one workgroup per row, a workgroup sum over it
//   TRANSPOSE true:  y = Wᵀ·x, one invocation per column, the rows added in
//                    order (neighbouring invocations read neighbouring floats)

layout(constant_id = 55) const uint ROWS = 1;
layout(constant_id = 56) const uint COLS = 1;
layout(constant_id = 57) const bool TRANSPOSE = false;

layout(r32f, binding = 0) readonly uniform imageBuffer Wt;
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

void main() {
	if (TRANSPOSE) {
		uint c = FLAT_ID();
		GUARD(c, COLS)
		float v = 0.0;
		for (uint r = 0; r < ROWS; r++) {
			v += imageLoad(Wt, int(r * COLS + c)).x * x[r];
		}
		y[c] = v;
		return;
	}
	uint r = gl_WorkGroupID.x; // the dispatch has ROWS workgroups
	float v = 0.0;
	for (uint c = gl_LocalInvocationID.x; c < COLS; c += gl_WorkGroupSize.x) {
		v += imageLoad(Wt, int(r * COLS + c)).x * x[c];
	}
	v = wg_sum(v);
	if (gl_LocalInvocationID.x == 0) {
		y[r] = v;
	}
}
