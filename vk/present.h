// present.h: a swapchain on a window's surface, written in C for the same
// reason as shim.h (its create-info structs hold arrays vulkan-go would hand
// to a finalizer). One frame is in flight at a time: each present waits for
// its copy to finish, so the command buffer and the acquire semaphore are
// free again when it returns.
#ifndef GANVK_PRESENT_H
#define GANVK_PRESENT_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#define GANVK_MAX_IMAGES 16

typedef struct ganvk_swapchain ganvk_swapchain;

// Why ganvk_swapchain_new refused, beyond a VkResult.
enum {
	GANVK_SWAPCHAIN_OK = 0,
	GANVK_SWAPCHAIN_NO_PRESENT = 1, // the queue family cannot present to the surface
	GANVK_SWAPCHAIN_NO_FORMAT = 2,  // no 8-bit RGBA/BGRA format, or no TRANSFER_DST usage
};

// ganvk_swapchain_new adopts surface (it is destroyed with the swapchain,
// also when this fails) and sets up what presenting needs; the swapchain
// itself is made by ganvk_swapchain_resize. *why says which refusal.
VkResult ganvk_swapchain_new(VkInstance instance, VkPhysicalDevice pd, VkDevice device, VkQueue queue,
	uint32_t family, uint64_t surface, ganvk_swapchain **out, int *why);

// ganvk_swapchain_resize (re)makes the swapchain for a width×height
// framebuffer (the surface's own extent wins where it has one). A zero
// extent (a minimised window) leaves no swapchain: present then does
// nothing until the next resize.
VkResult ganvk_swapchain_resize(ganvk_swapchain *s, uint32_t width, uint32_t height);

void ganvk_swapchain_extent(ganvk_swapchain *s, uint32_t *width, uint32_t *height, int *bgra);

// ganvk_swapchain_record acquires an image and records copying buffer (at
// offset, tightly packed width×height 32-bit pixels in the swapchain's byte
// order) into it. VK_ERROR_OUT_OF_DATE_KHR and VK_SUBOPTIMAL_KHR ask for a
// resize; on out-of-date nothing was recorded.
VkResult ganvk_swapchain_record(ganvk_swapchain *s, uint64_t buffer, uint64_t offset);

// ganvk_swapchain_submit submits the recorded copy and presents the image.
// The queue must be held by the caller.
VkResult ganvk_swapchain_submit(ganvk_swapchain *s);

// ganvk_swapchain_wait waits for the submitted copy to finish.
VkResult ganvk_swapchain_wait(ganvk_swapchain *s);

void ganvk_swapchain_free(ganvk_swapchain *s);

#endif
