#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "reduce.glsl"

// Softmax cross-entropy of B rows of K logits against integer labels,
// averaged over the batch: PyTorch's nn.CrossEntropyLoss()(logits, labels).
// One workgroup, one row per invocation at a time:
//   loss    = 1/B Σ_b logsumexp(l[b]) − l[b][y_b]  (the row's max subtracted first)
//   dl[b,k] = (softmax(l[b])_k − [k = y_b]) / B
//   stats[0] = loss, stats[1] = the fraction of rows whose largest logit is
//   the label's (the first of equal ones), the accuracy.

layout(constant_id = 4) const uint B = 1;
layout(constant_id = 8) const uint K = 2;

layout(std430, binding = 0) readonly buffer Logits { float logit[]; };
layout(std430, binding = 1) readonly buffer Labels { uint label[]; };
layout(std430, binding = 2) writeonly buffer DL { float dl[]; };
layout(std430, binding = 3) writeonly buffer Stats { float stats[]; };

void main() {
	float loss = 0.0, correct = 0.0;
	for (uint b = gl_LocalInvocationID.x; b < B; b += gl_WorkGroupSize.x) {
		uint row = b * K, y = min(label[b], K - 1);
		float top = logit[row];
		uint arg = 0;
		for (uint k = 1; k < K; k++) {
			if (logit[row + k] > top) {
				top = logit[row + k];
				arg = k;
			}
		}
		float sum = 0.0;
		for (uint k = 0; k < K; k++) {
			sum += exp(logit[row + k] - top);
		}
		loss += log(sum) - (logit[row + y] - top);
		correct += arg == y ? 1.0 : 0.0;
		for (uint k = 0; k < K; k++) {
			float p = exp(logit[row + k] - top) / sum;
			dl[row + k] = (p - (k == y ? 1.0 : 0.0)) / float(B);
		}
	}
	loss = wg_sum(loss);
	correct = wg_sum(correct);
	if (gl_LocalInvocationID.x == 0) {
		stats[0] = loss / float(B);
		stats[1] = correct / float(B);
	}
}
