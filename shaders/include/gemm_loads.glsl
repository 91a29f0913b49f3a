// gemm_loads.glsl — how the convolution GEMMs read their two operands:
// through texel buffers (imageLoad), which lavapipe vectorises and which
// have no maxStorageBufferRange limit, or, with STORAGE, from storage
// buffers, which is a GPU's plain global load (on NVIDIA and AMD a texel
// fetch takes the texture path, with its own latency and a format
// conversion per load). STORAGE is a specialization constant, so a
// pipeline compiles one of the two; the other's bindings are bound to a
// placeholder (layers' operands).
//
// A shader includes it after declaring X (r32f) and its storage twin xs,
// and then defines its row operand's load the same way.
#ifndef GANVK_GEMM_LOADS_GLSL
#define GANVK_GEMM_LOADS_GLSL

layout(constant_id = 44) const bool STORAGE = false;

// load_x is the column operand's float at i.
float load_x(uint i) {
	if (STORAGE) {
		return xs[i];
	}
	return imageLoad(X, int(i)).x;
}

#endif
