#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Spectral norm applied to a ROWS×COLS weight, one invocation per float:
//   BACKWARD false: y = w / σ                                  W_sn = W/σ
//   BACKWARD true:  y = (y − c·u[r]·v[col]) / σ, in place,      ∂L/∂W from
//     y = ∂L/∂W_sn and c = ⟨∂L/∂W_sn, W_sn⟩ (u and v are constants, as in
//     PyTorch, so ∂σ/∂W = u·vᵀ)
// σ is sigma[0] and c is dot[0].

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 55) const uint ROWS = 1;
layout(constant_id = 56) const uint COLS = 1;
layout(constant_id = 52) const bool BACKWARD = false;

layout(r32f, binding = 0) uniform imageBuffer Y;
layout(r32f, binding = 1) readonly uniform imageBuffer Wt;
layout(std430, binding = 2) readonly buffer U { float u[]; };
layout(std430, binding = 3) readonly buffer V { float v[]; };
layout(std430, binding = 4) readonly buffer Sigma { float sigma[]; };
layout(std430, binding = 5) readonly buffer Dot { float dot_[]; };

void main() {
	uint i = FLAT_ID();
	GUARD(i, ROWS * COLS)
	if (BACKWARD) {
		float g = imageLoad(Y, int(i)).x - dot_[0] * u[i / COLS] * v[i % COLS];
		imageStore(Y, int(i), vec4(g / sigma[0]));
	} else {
		imageStore(Y, int(i), vec4(imageLoad(Wt, int(i)).x / sigma[0]));
	}
}
