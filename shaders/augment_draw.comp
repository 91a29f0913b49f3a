#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"
#include "augment.glsl"

// Draws each sample's augmentation (augment.glsl) and the mean its colour
// map needs: of the input image in forward; in backward (BACKWARD), of the
// gradient carried back through cutout and translation. One workgroup per
// sample; the invocations sum in a fixed order (reduce.glsl).

layout(constant_id = 25) const uint STREAM = 0;
layout(constant_id = 49) const uint FIRST = 0;
layout(constant_id = 50) const uint OPS = 0; // a bit per transform, as layers.AugmentOps numbers them
layout(constant_id = 52) const bool BACKWARD = false;

#define AUG_BRIGHTNESS 1u
#define AUG_SATURATION 2u
#define AUG_CONTRAST 4u
#define AUG_TRANSLATION 8u
#define AUG_CUTOUT 16u

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; }; // seed lo, seed hi, step
layout(std430, binding = 1) readonly buffer Strength { float p; };   // each transform's probability
layout(r32f, binding = 2) readonly uniform imageBuffer X;            // x, or dy in backward
layout(std430, binding = 3) writeonly buffer Record { vec4 rec[]; };  // 2 per sample

shared vec4 drawn[2];

bool on(uint op, uint word) { return (OPS & op) != 0u && uniform01(word) <= p; }

// draw is sample n's draw: (b, s, c, ·) and (tx, ty, cy, cx).
void draw(uint n, out vec4 a, out vec4 g) {
	uvec2 key = uvec2(clock[0], clock[1]);
	uvec4 w0 = philox(uvec4(FIRST + n, STREAM, clock[2], 2), key); // which transforms apply
	uvec4 w1 = philox(uvec4(FIRST + n, STREAM, clock[2], 3), key); // cutout's; b, s, c
	uvec4 w2 = philox(uvec4(FIRST + n, STREAM, clock[2], 4), key); // tx, ty, cutout's centre
	a = vec4(on(AUG_BRIGHTNESS, w0.x) ? uniform01(w1.y) - 0.5 : 0.0,
		on(AUG_SATURATION, w0.y) ? 2.0 * uniform01(w1.z) : 1.0,
		on(AUG_CONTRAST, w0.z) ? uniform01(w1.w) + 0.5 : 1.0, 0.0);
	g = vec4(0.0, 0.0, float(H), float(W));
	if (on(AUG_TRANSLATION, w0.w)) {
		g.xy = vec2(int(w2.x % uint(2 * SHIFT_W + 1)) - SHIFT_W, int(w2.y % uint(2 * SHIFT_H + 1)) - SHIFT_H);
	}
	if (on(AUG_CUTOUT, w1.x)) {
		g.zw = vec2(int(w2.z % (H + 1u - uint(CUT_H % 2))) - CUT_H / 2, int(w2.w % (W + 1u - uint(CUT_W % 2))) - CUT_W / 2);
	}
}

void main() {
	uint n = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
	GUARD(n, N)
	if (t == 0u) {
		draw(n, drawn[0], drawn[1]);
	}
	barrier();
	vec4 g = drawn[1];
	uint hw = H * W, base = n * C * hw;
	float sum = 0.0;
	for (uint e = t; e < C * hw; e += gl_WorkGroupSize.x) {
		int si, sj;
		if (!BACKWARD) {
			sum += imageLoad(X, int(base + e)).x;
		} else if (source(g, int(e / W % H), int(e % W), si, sj)) {
			sum += imageLoad(X, int(base + e)).x;
		}
	}
	sum = wg_sum(sum);
	if (t == 0u) {
		rec[2 * n] = vec4(drawn[0].xyz, sum / float(C * hw));
		rec[2 * n + 1] = g;
	}
}
