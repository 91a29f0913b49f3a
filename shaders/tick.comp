#version 450

// Advances a clock buffer (seed lo, seed hi, step) by one step, on the
// device, so a recorded step needs nothing from the host to move on.

layout(local_size_x = 1) in;

layout(std430, binding = 0) buffer Clock { uint clock[]; };

void main() {
	clock[2] += 1;
}
