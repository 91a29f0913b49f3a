// elementwise.glsl — element-wise kernels take four floats per invocation
// through rgba32f texel views of their buffers: on lavapipe that is about
// twice the bandwidth of storage-buffer access, and texel views have no maxStorageBufferRange
// limit (128 MiB on lavapipe). The invocation past the last whole vec4
// takes the last 1–3 floats through r32f views of the same buffers, so each
// tensor is two bindings, name4 then name1, and layers binds the same buffer
// to both.
#ifndef GANVK_ELEMENTWISE_GLSL
#define GANVK_ELEMENTWISE_GLSL

layout(local_size_x = 64, local_size_x_id = 0) in;

// TENSOR_IN, TENSOR_OUT and TENSOR_INOUT declare tensor name as bindings b
// (name4, vec4s) and b+1 (name1, floats).
#define TENSOR_IN(name, b) \
	layout(rgba32f, binding = b) readonly uniform imageBuffer name##4; \
	layout(r32f, binding = b + 1) readonly uniform imageBuffer name##1;
#define TENSOR_OUT(name, b) \
	layout(rgba32f, binding = b) writeonly uniform imageBuffer name##4; \
	layout(r32f, binding = b + 1) writeonly uniform imageBuffer name##1;
#define TENSOR_INOUT(name, b) \
	layout(rgba32f, binding = b) uniform imageBuffer name##4; \
	layout(r32f, binding = b + 1) uniform imageBuffer name##1;

// A kernel's main starts with ELEMENTWISE(COUNT), which defines q (this
// invocation's vec4) and whole (whether all four floats are in range), and
// then reads and writes through LOADV and STOREV, so its arithmetic is
// written once, on vec4s. In the last, partial vec4 the floats past COUNT
// read as 0 and are not written.
#define ELEMENTWISE(count) \
	uint q = FLAT_ID(); \
	GUARD(q, ((count) + 3) / 4) \
	bool whole = 4 * q + 4 <= (count); \
	uint n_ = (count);
#define LOAD1_(name, i) (i < n_ ? imageLoad(name##1, int(min(i, n_ - 1))).x : 0.0)
#define LOADV(name) (whole ? imageLoad(name##4, int(q)) : \
	vec4(LOAD1_(name, 4 * q), LOAD1_(name, 4 * q + 1), LOAD1_(name, 4 * q + 2), LOAD1_(name, 4 * q + 3)))
#define STOREV(name, v) \
	if (whole) { \
		imageStore(name##4, int(q), (v)); \
	} else { \
		for (uint k_ = 0; k_ < 4 && 4 * q + k_ < n_; k_++) { \
			imageStore(name##1, int(4 * q + k_), vec4((v)[k_])); \
		} \
	}

// ELEMENT is the flat index of component k of this invocation's vec4.
#define ELEMENT(k) (4 * q + (k))

#endif
