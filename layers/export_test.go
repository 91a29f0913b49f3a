package layers

import "testing"

// SplitFilterGradients makes the filter gradients of ops built during the
// test split their reduction as on a GPU with target workgroups, lavapipe
// included.
func SplitFilterGradients(t testing.TB, target int) {
	t.Cleanup(func() { splitTarget, splitOnCPU = 512, false })
	splitTarget, splitOnCPU = target, true
}

// SharedMemoryTiles makes the GEMMs of ops built during the test take their
// GPU form, operands staged in shared memory, on any device.
func SharedMemoryTiles(t testing.TB, lx, ly, tm, tn int) {
	t.Cleanup(func() { ForceTile(0, 0, 0, 0, false) })
	if err := ForceTile(lx, ly, tm, tn, true); err != nil {
		t.Fatal(err)
	}
}
