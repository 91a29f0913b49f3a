// Package layers holds gan-vk's tensor ops, one file per op: each records its
// forward and backward dispatches into a vk.Sequence, beside its shaders in
// shaders/ and a plain-Go reference in layers/ref that the tests hold it to.
//
// Conventions (../shared/DESIGN.md): activations are float32 NCHW; parameters
// use PyTorch's layouts; parameter gradients accumulate, activation gradients
// overwrite.
package layers
