// activation.glsl — the activation a shader applies (or differentiates):
// ACT numbers it as common.glsl's ACT_* and layers.Act do, SLOPE is leaky
// ReLU's. Include it after common.glsl.
#ifndef GANVK_ACTIVATION_GLSL
#define GANVK_ACTIVATION_GLSL

layout(constant_id = 16) const uint ACT = ACT_NONE;
layout(constant_id = 17) const float SLOPE = 0.2;

#endif
