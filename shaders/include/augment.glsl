// augment.glsl — DiffAugment's transforms (Zhao et al. 2020, "Differentiable
// Augmentation for Data-Efficient GAN Training"), as augment_draw,
// augment_fwd and augment_bwd share them: the geometry of an N×C×H×W
// batch (mirror's too) and each sample's draw.
//
// Each sample draws (augment_draw), from Philox at counter (FIRST + n, STREAM, step, w)
// for w = 2, 3, 4 with the clock's seed as key (dropout draws at w 0 and z
// at w 1, so no stream of theirs meets these), whether each transform
// applies (probability p, from a one-float buffer) and its strength:
//   brightness  x + b,                 b ~ U(−0.5, 0.5)
//   saturation  (x − mean_c)·s + mean_c, s ~ U(0, 2)     (mean over channels, per pixel)
//   contrast    (x − mean)·c + mean,   c ~ U(0.5, 1.5)   (mean over the image)
//   translation y(i, j) = x(i + ty, j + tx), zero outside; |tx| ≤ (W+4)/8, |ty| ≤ (H+4)/8
//   cutout      a zeroed (H+1)/2 × (W+1)/2 rectangle centred at a uniform place
// in that order (DiffAugment_pytorch.py's, with its integer ranges). The
// three colour transforms fold into one linear map of the image,
//   A(x) = c·s·x + c·(1 − s)·mean_c(x) + (1 − c)·mean(x),
// so forward is y = keep · shift(A(x) + b) and backward, A being
// symmetric, is dx = A(unshift(keep · dy)).
#ifndef GANVK_AUGMENT_GLSL
#define GANVK_AUGMENT_GLSL

layout(constant_id = 4) const uint N = 1;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint H = 1;
layout(constant_id = 7) const uint W = 1;
const int SHIFT_H = int(H + 4) / 8, SHIFT_W = int(W + 4) / 8; // DiffAugment's int(0.125·H + 0.5)
const int CUT_H = int(H + 1) / 2, CUT_W = int(W + 1) / 2;       // its int(0.5·H + 0.5)

// A sample's draw, as augment_draw records it: two vec4s per sample,
//   (b, s, c, mean)  mean is the image's (forward) or the unshifted gradient's (backward)
//   (tx, ty, cy, cx) the shift, and the cutout's first row and column (H, W: none)

// kept is whether output pixel (i, j) lies outside the cutout.
bool kept(vec4 g, int i, int j) {
	int cy = int(g.z), cx = int(g.w);
	return i < cy || i >= cy + CUT_H || j < cx || j >= cx + CUT_W;
}

// source is where output pixel (i, j) reads from the colour-mapped image,
// and whether it reads at all (inside the image, outside the cutout).
bool source(vec4 g, int i, int j, out int si, out int sj) {
	si = i + int(g.y);
	sj = j + int(g.x);
	return kept(g, i, j) && si >= 0 && si < int(H) && sj >= 0 && sj < int(W);
}

#endif
