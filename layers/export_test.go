package layers

import "testing"

// SplitFilterGradients makes the filter gradients of ops built during the
// test split their reduction as on a GPU with target workgroups, lavapipe
// included.
func SplitFilterGradients(t testing.TB, target int) {
	t.Cleanup(func() { splitTarget, splitOnCPU = 512, false })
	splitTarget, splitOnCPU = target, true
}
