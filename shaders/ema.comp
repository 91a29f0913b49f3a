#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "elementwise.glsl"

// The exponential moving average of a network's parameters, in place:
//   avg = β·avg + (1−β)·param,  β = min(DECAY, 0.5^(1 / (RAMPUP·t)))
// t is the network's optimizer clock (word 2), the count of its updates so
// far. The ramp-up is StyleGAN's: the average's half-life in updates is at
// most RAMPUP·t, so at the start it follows the weights closely and is not
// dominated by the initial ones; later β is DECAY.

layout(constant_id = 4) const uint COUNT = 1;
layout(constant_id = 44) const float DECAY = 0.999;
layout(constant_id = 45) const float RAMPUP = 0.05;

layout(std430, binding = 0) readonly buffer Clock { uint clock[]; };
TENSOR_IN(Param, 1)
TENSOR_INOUT(Avg, 3)

void main() {
	ELEMENTWISE(COUNT)
	float t = float(clock[2]);
	float beta = min(DECAY, exp2(-1.0 / (RAMPUP * max(t, 1.0))));
	vec4 avg = LOADV(Avg);
	STOREV(Avg, avg + (1.0 - beta) * (LOADV(Param) - avg))
}
