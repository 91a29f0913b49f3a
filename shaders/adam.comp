#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"

// Adam with bias correction, in place, as torch.optim.Adam computes it:
//   m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²
//   p −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
// t is the optimizer's clock (word 2), advanced by tick before each update,
// so a recorded update stays valid from step to step. A positive CLAMP
// then keeps each parameter in [−CLAMP, CLAMP].

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 26) const float LR = 0.0002;
layout(constant_id = 27) const float BETA1 = 0.5;
layout(constant_id = 28) const float BETA2 = 0.999;
layout(constant_id = 29) const float EPSILON = 1e-8;
layout(constant_id = 30) const float LOG_BETA1 = -0.6931472; // ln β1, computed in float64 on the host
layout(constant_id = 31) const float LOG_BETA2 = -0.0010005;
layout(constant_id = 46) const float CLAMP = 0.0;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; };
TENSOR_INOUT(Param, 1)
TENSOR_IN(Grad, 3)
TENSOR_INOUT(M, 5)
TENSOR_INOUT(V, 7)

// one_minus_pow is 1 − β^t = −expm1(t·ln β) without the cancellation of
// 1 − pow(β, t) (in float32 1 − 0.999 keeps only 4 digits).
float one_minus_pow(float log_beta, float t) {
	float x = t * log_beta;
	if (x < -0.5) {
		return 1.0 - exp(x);
	}
	// Taylor series of −expm1(x) for |x| ≤ 0.5; the next term is < 3e-10.
	float s = 1.0 / 362880.0;
	s = s * x + 1.0 / 40320.0;
	s = s * x + 1.0 / 5040.0;
	s = s * x + 1.0 / 720.0;
	s = s * x + 1.0 / 120.0;
	s = s * x + 1.0 / 24.0;
	s = s * x + 1.0 / 6.0;
	s = s * x + 0.5;
	s = s * x + 1.0;
	return -x * s;
}

void main() {
	ELEMENTWISE(COUNT)
	float t = float(clock[2]);
	float bc1 = one_minus_pow(LOG_BETA1, t), bc2 = one_minus_pow(LOG_BETA2, t);
	vec4 g = LOADV(Grad);
	vec4 m = BETA1 * LOADV(M) + (1.0 - BETA1) * g;
	vec4 v = BETA2 * LOADV(V) + (1.0 - BETA2) * g * g;
	STOREV(M, m)
	STOREV(V, v)
	vec4 p = LOADV(Param) - LR / bc1 * m / (sqrt(v) / sqrt(bc2) + EPSILON);
	STOREV(Param, CLAMP > 0.0 ? clamp(p, -CLAMP, CLAMP) : p)
}
