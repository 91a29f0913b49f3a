#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"
#include "activation.glsl"

// dx = dy · act'(x), written from the forward output y (see dact);
// dx may be dy.

layout(constant_id = 4) const uint COUNT = 1;

TENSOR_IN(Yb, 0)
TENSOR_IN(DY, 2)
TENSOR_OUT(DX, 4)

void main() {
	ELEMENTWISE(COUNT)
	STOREV(DX, LOADV(DY) * dact4(ACT, LOADV(Yb), SLOPE))
}
