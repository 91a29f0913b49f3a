// reduce.glsl — a workgroup sum that gives the same bits on every run: each
// invocation adds its own elements in order, then a fixed tree adds the
// invocations' partial sums. No float atomics. The workgroup is
// one-dimensional, its size a power of two (specialization constant 0).
#ifndef GANVK_REDUCE_GLSL
#define GANVK_REDUCE_GLSL

layout(local_size_x = 64, local_size_x_id = 0) in;

shared float partial[gl_WorkGroupSize.x];

// wg_sum returns the sum of v over the workgroup to every invocation.
float wg_sum(float v) {
	uint t = gl_LocalInvocationID.x;
	barrier(); // a previous wg_sum may still be reading partial
	partial[t] = v;
	for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
		barrier();
		if (t < half_) {
			partial[t] += partial[t + half_];
		}
	}
	barrier();
	return partial[0];
}

#endif
