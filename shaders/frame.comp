#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// A viewer's frame, one invocation per pixel: a grid of images (NCHW floats
// in tanh's range [-1, 1], laid out as gan.Grid lays out its PNGs: cols to a
// row, pad black pixels around each) scaled nearest-neighbour into a
// rectangle, and a panel of RGBA8 pixels (curves and text drawn on the host)
// scaled by a whole factor, over a background colour. Pixels are written as
// 32-bit words in the swapchain's byte order, B,G,R,A or R,G,B,A, so the
// frame buffer can be copied straight into a swapchain image.

layout(local_size_x = 16, local_size_y = 16) in;

layout(push_constant) uniform Push {
	uint w, h, bgra, background; // the frame; background is R | G<<8 | B<<16 | A<<24
	uint gx, gy, gw, gh;         // the grid's rectangle in the frame
	uint n, cols, c, s, pad;     // the images: n of c×s×s, cols to a row
	uint px, py, pw, ph, scale;  // the panel's rectangle; its pixels are (pw/scale)×(ph/scale)
} p;

layout(std430, binding = 0) readonly buffer Grid { float grid[]; };
layout(std430, binding = 1) readonly buffer Panel { uint panel[]; };
layout(std430, binding = 2) writeonly buffer Frame { uint frame[]; };

// to_byte is gan.toByte: round((v+1)·127.5), clamped to a byte.
uint to_byte(float v) { return uint(clamp(floor((v + 1.0) * 127.5 + 0.5), 0.0, 255.0)); }

uint grid_pixel(uint x, uint y) {
	uint rows = (p.n + p.cols - 1) / p.cols;
	uint lw = p.cols * (p.s + p.pad) + p.pad, lh = rows * (p.s + p.pad) + p.pad;
	uint lx = (x - p.gx) * lw / p.gw, ly = (y - p.gy) * lh / p.gh;
	if (lx < p.pad || ly < p.pad) return 0xff000000u;
	uint tx = lx - p.pad, ty = ly - p.pad;
	uint ix = tx % (p.s + p.pad), iy = ty % (p.s + p.pad);
	uint i = (ty / (p.s + p.pad)) * p.cols + tx / (p.s + p.pad);
	if (ix >= p.s || iy >= p.s || i >= p.n) return 0xff000000u;
	uint at = (i * p.c * p.s + iy) * p.s + ix;
	uint r = to_byte(grid[at]);
	if (p.c == 1) return 0xff000000u | r << 16 | r << 8 | r;
	uint g = to_byte(grid[at + p.s * p.s]), b = to_byte(grid[at + 2 * p.s * p.s]);
	return 0xff000000u | b << 16 | g << 8 | r;
}

void main() {
	uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
	GUARD(x, p.w)
	GUARD(y, p.h)
	uint rgba = p.background;
	if (x >= p.gx && x < p.gx + p.gw && y >= p.gy && y < p.gy + p.gh) {
		rgba = grid_pixel(x, y);
	} else if (x >= p.px && x < p.px + p.pw && y >= p.py && y < p.py + p.ph) {
		rgba = panel[((y - p.py) / p.scale) * (p.pw / p.scale) + (x - p.px) / p.scale];
	}
	if (p.bgra != 0) {
		rgba = (rgba & 0xff00ff00u) | (rgba & 0xffu) << 16 | (rgba >> 16) & 0xffu;
	}
	frame[y * p.w + x] = rgba;
}
