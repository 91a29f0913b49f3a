#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"
#include "activation.glsl"

// y = act(x), element-wise over COUNT values; y may be x.

layout(constant_id = 4) const uint COUNT = 1;

TENSOR_IN(X, 0)
TENSOR_OUT(Y, 2)

void main() {
	ELEMENTWISE(COUNT)
	STOREV(Y, activate4(ACT, LOADV(X), SLOPE))
}
