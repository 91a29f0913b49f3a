// Package vktest opens the device tests run on.
package vktest

import (
	"testing"

	"github.com/gan-vk/gan-vk/vk"
)

// Open opens the default device with the Khronos validation layer on. When
// the test ends it closes the device and fails the test on every validation
// message and every object left alive. A machine without Vulkan fails the
// test rather than skipping it: ./build.sh installs lavapipe.
func Open(t testing.TB) *vk.Device {
	t.Helper()
	return OpenWith(t, vk.Options{Validation: true})
}

// OpenWith is Open with other options: a test that needs small memory blocks,
// or a benchmark that must run without the validation layer. A test that
// expects validation messages takes them with Device.Messages before it ends.
func OpenWith(t testing.TB, opts vk.Options) *vk.Device {
	t.Helper()
	d, err := vk.Open(opts)
	if err != nil {
		t.Fatalf("opening a Vulkan device (./build.sh installs lavapipe and the validation layer): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
		Quiet(t, d)
	})
	return d
}

// Quiet fails the test for each validation message d has collected so far.
func Quiet(t testing.TB, d *vk.Device) {
	t.Helper()
	for _, m := range d.Messages() {
		t.Errorf("validation layer: %s [%s]", m.Text, m.ID)
	}
}
