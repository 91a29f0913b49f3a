package vk

/*
#include <stdlib.h>
#include "present.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ErrOutOfDate is Present's way of saying the window changed under the
// swapchain: call Resize with the new framebuffer size and draw again.
var ErrOutOfDate = errors.New("vk: the swapchain no longer matches its window")

// Instance is the device's VkInstance, for a window system to make a surface
// with (glfw.Window.CreateWindowSurface).
func (d *Device) Instance() unsafe.Pointer { return unsafe.Pointer(d.inst.handle) }

// Swapchain presents frames in a window: tightly packed 32-bit pixels in a
// device buffer are copied into the acquired image (Present), with FIFO
// presentation. It is owned by the device, like a buffer.
type Swapchain struct {
	dev *Device
	id  uint64
	c   *C.ganvk_swapchain
}

// NewSwapchain takes over surface (a VkSurfaceKHR the window system made on
// Instance(); it is destroyed with the swapchain, also when this fails) and
// sizes the swapchain for a width×height framebuffer. The device must have
// been opened with Options.Present.
func (d *Device) NewSwapchain(surface uint64, width, height int) (*Swapchain, error) {
	if !d.present {
		return nil, errors.New("vk: NewSwapchain on a device opened without Options.Present")
	}
	var c *C.ganvk_swapchain
	var why C.int
	res := C.ganvk_swapchain_new(cInstance(d.inst.handle), C.VkPhysicalDevice(unsafe.Pointer(d.physical)),
		C.VkDevice(unsafe.Pointer(d.handle)), C.VkQueue(unsafe.Pointer(d.queue)), C.uint32_t(d.info.QueueFamily),
		C.uint64_t(surface), &c, &why)
	switch {
	case why == C.GANVK_SWAPCHAIN_NO_PRESENT:
		return nil, fmt.Errorf("%w: %s cannot present to this window (queue family %d); pick another device with --device",
			ErrNoDevice, d.info.Name, d.info.QueueFamily)
	case why == C.GANVK_SWAPCHAIN_NO_FORMAT:
		return nil, fmt.Errorf("%w: %s offers no 8-bit RGBA or BGRA format for this window", ErrNoDevice, d.info.Name)
	case res != C.VK_SUCCESS:
		return nil, fmt.Errorf("vk: swapchain: %w", newError("creating the swapchain", vk.Result(res)))
	}
	s := &Swapchain{dev: d, c: c}
	id, err := d.adopt(s)
	if err != nil {
		C.ganvk_swapchain_free(c)
		return nil, err
	}
	s.id = id
	if err := s.Resize(width, height); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Resize remakes the swapchain for a width×height framebuffer. A zero size
// (a minimised window) is allowed: Present then shows nothing until the next
// Resize.
func (s *Swapchain) Resize(width, height int) error {
	if s.c == nil {
		return fmt.Errorf("vk: swapchain: %w", ErrClosed)
	}
	s.dev.queueMu.Lock() // the old swapchain's images may be queued for presenting
	res := C.ganvk_swapchain_resize(s.c, C.uint32_t(max(0, width)), C.uint32_t(max(0, height)))
	s.dev.queueMu.Unlock()
	return check("vkCreateSwapchainKHR", vk.Result(res))
}

// Extent is the size of the swapchain's images (0×0 while minimised), and
// whether their bytes are in B, G, R, A order (else R, G, B, A).
func (s *Swapchain) Extent() (width, height int, bgra bool) {
	if s.c == nil {
		return 0, 0, false
	}
	var w, h C.uint32_t
	var b C.int
	C.ganvk_swapchain_extent(s.c, &w, &h, &b)
	return int(w), int(h), b != 0
}

// Present copies frame (width×height 32-bit pixels of the Extent, row after
// row, in its byte order) into the next image and presents it, waiting for
// the copy. It returns ErrOutOfDate when the window changed: Resize, redraw
// and present again. Whatever wrote frame earlier on the device's queue is
// finished before the copy reads it.
func (s *Swapchain) Present(frame *Buffer) error {
	if s.c == nil {
		return fmt.Errorf("vk: swapchain: %w", ErrClosed)
	}
	w, h, _ := s.Extent()
	if w == 0 || h == 0 {
		return nil
	}
	if frame.blk == nil {
		return fmt.Errorf("vk: swapchain: frame buffer %q: %w", frame.name, ErrClosed)
	}
	if need := 4 * w * h; frame.Size() < need {
		return fmt.Errorf("vk: swapchain: frame buffer %q holds %d bytes; a %d×%d frame needs %d", frame.name, frame.Size(), w, h, need)
	}
	res := vk.Result(C.ganvk_swapchain_record(s.c, handle64(frame.blk.buffer), C.uint64_t(frame.off)))
	suboptimal := res == vk.Suboptimal
	switch {
	case res == vk.ErrorOutOfDate:
		return ErrOutOfDate
	case res != vk.Success && !suboptimal:
		return newError("vkAcquireNextImageKHR", res)
	}
	s.dev.queueMu.Lock()
	res = vk.Result(C.ganvk_swapchain_submit(s.c))
	s.dev.queueMu.Unlock()
	wait := vk.Result(C.ganvk_swapchain_wait(s.c))
	switch {
	case res == vk.ErrorOutOfDate || res == vk.Suboptimal || suboptimal:
		return ErrOutOfDate
	case res != vk.Success:
		return newError("vkQueuePresentKHR", res)
	}
	return check("vkWaitForFences", wait)
}

// Close destroys the swapchain and its surface. It is idempotent.
func (s *Swapchain) Close() {
	if s.c == nil {
		return
	}
	s.destroy()
	s.dev.release(s.id)
}

func (s *Swapchain) describe() string { return "swapchain" }

func (s *Swapchain) destroy() {
	s.dev.queueMu.Lock() // the free waits for the queue to be idle
	C.ganvk_swapchain_free(s.c)
	s.dev.queueMu.Unlock()
	s.c = nil
}
