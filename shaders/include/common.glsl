// common.glsl — what every gan-vk compute shader shares. Include it with
//   #extension GL_GOOGLE_include_directive : require
//   #include "common.glsl"
#ifndef GANVK_COMMON_GLSL
#define GANVK_COMMON_GLSL

// GUARD ends an invocation that falls past the last element. Every shader
// starts with one: workgroups round the element count up.
#define GUARD(i, n) if ((i) >= (n)) { return; }

// FLAT_ID numbers the invocations of a dispatch laid out by
// layers.flatGroups: rows of gl_NumWorkGroups.x workgroups, so that counts
// past 65535 workgroups (the minimum limit in x) spread over y. It is a
// macro so that gl_WorkGroupSize is read where it is used, after the
// shader's local_size layout: a function here would see the default size 1.
#define FLAT_ID() (gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x)

// Activations, numbered as layers.Act numbers them. Each derivative is
// written in terms of the activation's output y, so backward needs only y.
#define ACT_NONE 0
#define ACT_LEAKY 1 // max(x, slope·x); slope 0 is ReLU
#define ACT_TANH 2
#define ACT_SIGMOID 3

float leaky_relu(float x, float slope) { return x >= 0.0 ? x : slope * x; }

// Sigmoid without overflow for large |x|.
float sigmoid(float x) {
	float e = exp(-abs(x));
	return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

float activate(uint act, float x, float slope) {
	switch (act) {
	case ACT_LEAKY: return leaky_relu(x, slope);
	case ACT_TANH: return tanh(x);
	case ACT_SIGMOID: return sigmoid(x);
	}
	return x;
}

// dact is dy/dx of activate at the input that gave output y.
float dact(uint act, float y, float slope) {
	switch (act) {
	case ACT_LEAKY: return y > 0.0 ? 1.0 : slope;
	case ACT_TANH: return 1.0 - y * y;
	case ACT_SIGMOID: return y * (1.0 - y);
	}
	return 1.0;
}

vec4 activate4(uint act, vec4 x, float slope) {
	return vec4(activate(act, x.x, slope), activate(act, x.y, slope), activate(act, x.z, slope), activate(act, x.w, slope));
}

vec4 dact4(uint act, vec4 y, float slope) {
	return vec4(dact(act, y.x, slope), dact(act, y.y, slope), dact(act, y.z, slope), dact(act, y.w, slope));
}

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): four random words from a 128-bit counter and a 64-bit key.
// layers/ref.Philox is its Go twin, bit for bit.
uvec4 philox(uvec4 ctr, uvec2 key) {
	for (int round = 0; round < 10; round++) {
		uint hi0, lo0, hi1, lo1;
		umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
		umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
		ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
		key += uvec2(0x9E3779B9u, 0xBB67AE85u);
	}
	return ctr;
}

// uniform01 maps a random word to (0, 1]: never 0, so log() is finite.
float uniform01(uint u) { return (float(u >> 8) + 1.0) * (1.0 / 16777216.0); }

#endif
