// common.glsl — what every gan-vk compute shader shares. Include it with
//   #extension GL_GOOGLE_include_directive : require
//   #include "common.glsl"
#ifndef GANVK_COMMON_GLSL
#define GANVK_COMMON_GLSL

// GUARD ends an invocation that falls past the last element. Every shader
// starts with one: workgroups round the element count up.
#define GUARD(i, n) if ((i) >= (n)) { return; }

// Flat index of element (n, c, h, w) of an NCHW tensor with C channels of H×W.
uint nchw(uint n, uint c, uint h, uint w, uint C, uint H, uint W) {
	return ((n * C + c) * H + h) * W + w;
}

float leaky_relu(float x, float slope) { return x >= 0.0 ? x : slope * x; }

// Sigmoid without overflow for large |x|.
float sigmoid(float x) {
	float e = exp(-abs(x));
	return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

#endif
