// conv_geom.glsl — a convolution's geometry, as the three GEMM shaders
// (conv_fwd, convt_fwd, conv_wgrad) take it: an N×C×H×W input, an
// N×K×OH×OW output, a KH×KW kernel, stride S, padding P. layers fills them
// from one struct (shaders.ConvGeom).
#ifndef GANVK_CONV_GEOM_GLSL
#define GANVK_CONV_GEOM_GLSL

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint H = 1;
layout(constant_id = 7) const uint W = 1;
layout(constant_id = 8) const uint K = 1;
layout(constant_id = 9) const uint OH = 1;
layout(constant_id = 10) const uint OW = 1;
layout(constant_id = 11) const uint KH = 1;
layout(constant_id = 12) const uint KW = 1;
layout(constant_id = 13) const uint S = 1;
layout(constant_id = 14) const uint P = 0;

#endif
