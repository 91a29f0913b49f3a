#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"
#include "activation.glsl"

// Conditional batch norm's per-sample affine (StudioGAN's, BigGAN's): x is
// N×C×L, already normalised; each sample's channel c has its own gain and
// bias (gain[n, c], bias[n, c], from an embedding of the sample's class),
// with an activation fused after:
//   BACKWARD false: y = act(x·gain[n, c] + bias[n, c]), one invocation per float
//   BACKWARD true:  from dy and y, one workgroup per (n, c):
//     d = dy·act'(y)   dx = d·gain[n, c]   dgain[n, c] = Σ_l d·x   dbias[n, c] = Σ_l d
//   dx may be dy; dgain and dbias are per sample (overwritten), for the
//   embedding's backward to sum by class.

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint L = 1;
layout(constant_id = 52) const bool BACKWARD = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gain { float gain[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) buffer Y { float y[]; };   // y, or (backward) the forward's y
layout(std430, binding = 4) buffer DY { float dy[]; }; // backward: dy, then dx in place when DX is DY
layout(std430, binding = 5) writeonly buffer DX { float dx[]; };
layout(std430, binding = 6) writeonly buffer DGain { float dgain[]; };
layout(std430, binding = 7) writeonly buffer DBias { float dbias[]; };

void main() {
	if (!BACKWARD) {
		uint i = FLAT_ID();
		GUARD(i, N * C * L)
		uint nc = i / L;
		y[i] = activate(ACT, x[i] * gain[nc] + bias[nc], SLOPE);
		return;
	}
	uint nc = gl_WorkGroupID.x; // the dispatch has N·C workgroups
	float sg = 0.0, sb = 0.0;
	for (uint l = gl_LocalInvocationID.x; l < L; l += gl_WorkGroupSize.x) {
		uint i = nc * L + l;
		float d = dy[i] * dact(ACT, y[i], SLOPE);
		sg += d * x[i];
		sb += d;
		dx[i] = d * gain[nc];
	}
	sg = wg_sum(sg);
	sb = wg_sum(sb);
	if (gl_LocalInvocationID.x == 0) {
		dgain[nc] = sg;
		dbias[nc] = sb;
	}
}
