#include <stdlib.h>
#include <string.h>

#include "present.h"

PFN_vkGetInstanceProcAddr ganvk_gipa(void);

struct ganvk_swapchain {
	VkInstance instance;
	VkPhysicalDevice pd;
	VkDevice device;
	VkQueue queue;
	VkSurfaceKHR surface;
	VkSwapchainKHR swapchain;
	VkSurfaceFormatKHR format;
	uint32_t width, height, count, index;
	VkImage images[GANVK_MAX_IMAGES];
	VkSemaphore acquired;
	VkSemaphore rendered[GANVK_MAX_IMAGES]; // one per image: a present may still wait on the last one
	VkFence fence;
	int fence_pending;
	VkCommandPool pool;
	VkCommandBuffer cmd;

	PFN_vkDestroySurfaceKHR destroy_surface;
	PFN_vkGetPhysicalDeviceSurfaceSupportKHR surface_support;
	PFN_vkGetPhysicalDeviceSurfaceCapabilitiesKHR surface_caps;
	PFN_vkGetPhysicalDeviceSurfaceFormatsKHR surface_formats;
	PFN_vkCreateSwapchainKHR create_swapchain;
	PFN_vkDestroySwapchainKHR destroy_swapchain;
	PFN_vkGetSwapchainImagesKHR get_images;
	PFN_vkAcquireNextImageKHR acquire;
	PFN_vkQueuePresentKHR present;
	PFN_vkCreateSemaphore create_semaphore;
	PFN_vkDestroySemaphore destroy_semaphore;
	PFN_vkCreateFence create_fence;
	PFN_vkDestroyFence destroy_fence;
	PFN_vkWaitForFences wait_fences;
	PFN_vkResetFences reset_fences;
	PFN_vkCreateCommandPool create_pool;
	PFN_vkDestroyCommandPool destroy_pool;
	PFN_vkAllocateCommandBuffers alloc_cmds;
	PFN_vkBeginCommandBuffer begin;
	PFN_vkEndCommandBuffer end;
	PFN_vkCmdPipelineBarrier barrier;
	PFN_vkCmdCopyBufferToImage copy;
	PFN_vkQueueSubmit submit;
	PFN_vkQueueWaitIdle wait_idle;
};

#define LOAD(field, name) \
	s->field = (PFN_##name)gipa(instance, #name); \
	if (s->field == NULL) return 0;

static int load(ganvk_swapchain *s, VkInstance instance) {
	PFN_vkGetInstanceProcAddr gipa = ganvk_gipa();
	LOAD(destroy_surface, vkDestroySurfaceKHR)
	LOAD(surface_support, vkGetPhysicalDeviceSurfaceSupportKHR)
	LOAD(surface_caps, vkGetPhysicalDeviceSurfaceCapabilitiesKHR)
	LOAD(surface_formats, vkGetPhysicalDeviceSurfaceFormatsKHR)
	LOAD(create_swapchain, vkCreateSwapchainKHR)
	LOAD(destroy_swapchain, vkDestroySwapchainKHR)
	LOAD(get_images, vkGetSwapchainImagesKHR)
	LOAD(acquire, vkAcquireNextImageKHR)
	LOAD(present, vkQueuePresentKHR)
	LOAD(create_semaphore, vkCreateSemaphore)
	LOAD(destroy_semaphore, vkDestroySemaphore)
	LOAD(create_fence, vkCreateFence)
	LOAD(destroy_fence, vkDestroyFence)
	LOAD(wait_fences, vkWaitForFences)
	LOAD(reset_fences, vkResetFences)
	LOAD(create_pool, vkCreateCommandPool)
	LOAD(destroy_pool, vkDestroyCommandPool)
	LOAD(alloc_cmds, vkAllocateCommandBuffers)
	LOAD(begin, vkBeginCommandBuffer)
	LOAD(end, vkEndCommandBuffer)
	LOAD(barrier, vkCmdPipelineBarrier)
	LOAD(copy, vkCmdCopyBufferToImage)
	LOAD(submit, vkQueueSubmit)
	LOAD(wait_idle, vkQueueWaitIdle)
	return 1;
}

static VkSemaphore semaphore(ganvk_swapchain *s, VkResult *res) {
	VkSemaphoreCreateInfo info = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	VkSemaphore sem = VK_NULL_HANDLE;
	if (*res == VK_SUCCESS) *res = s->create_semaphore(s->device, &info, NULL, &sem);
	return sem;
}

VkResult ganvk_swapchain_new(VkInstance instance, VkPhysicalDevice pd, VkDevice device, VkQueue queue,
		uint32_t family, uint64_t surface, ganvk_swapchain **out, int *why) {
	*out = NULL;
	*why = GANVK_SWAPCHAIN_OK;
	ganvk_swapchain *s = calloc(1, sizeof(*s));
	if (s == NULL) return VK_ERROR_OUT_OF_HOST_MEMORY;
	s->instance = instance;
	s->pd = pd;
	s->device = device;
	s->queue = queue;
	s->surface = (VkSurfaceKHR)(uintptr_t)surface;
	if (!load(s, instance)) {
		ganvk_swapchain_free(s);
		return VK_ERROR_EXTENSION_NOT_PRESENT;
	}
	VkBool32 ok = VK_FALSE;
	VkResult res = s->surface_support(pd, family, s->surface, &ok);
	if (res == VK_SUCCESS && !ok) {
		*why = GANVK_SWAPCHAIN_NO_PRESENT;
		res = VK_ERROR_FEATURE_NOT_PRESENT;
	}
	uint32_t n = 0;
	if (res == VK_SUCCESS) res = s->surface_formats(pd, s->surface, &n, NULL);
	if (res == VK_SUCCESS && n > 0) {
		VkSurfaceFormatKHR *formats = calloc(n, sizeof(*formats));
		res = formats ? s->surface_formats(pd, s->surface, &n, formats) : VK_ERROR_OUT_OF_HOST_MEMORY;
		// Bytes are copied in, never converted, so an sRGB format shows them
		// as a UNORM one would; prefer UNORM all the same.
		static const VkFormat want[] = {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM,
			VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_SRGB};
		for (int w = 0; res == VK_SUCCESS && w < 4 && s->format.format == VK_FORMAT_UNDEFINED; w++) {
			for (uint32_t i = 0; i < n; i++) {
				if (formats[i].format == want[w]) {
					s->format = formats[i];
					break;
				}
			}
		}
		free(formats);
	}
	if (res == VK_SUCCESS && s->format.format == VK_FORMAT_UNDEFINED) {
		*why = GANVK_SWAPCHAIN_NO_FORMAT;
		res = VK_ERROR_FORMAT_NOT_SUPPORTED;
	}
	s->acquired = semaphore(s, &res);
	for (int i = 0; i < GANVK_MAX_IMAGES; i++) s->rendered[i] = semaphore(s, &res);
	if (res == VK_SUCCESS) {
		VkFenceCreateInfo info = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
		res = s->create_fence(device, &info, NULL, &s->fence);
	}
	if (res == VK_SUCCESS) {
		VkCommandPoolCreateInfo info = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
		info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
		info.queueFamilyIndex = family;
		res = s->create_pool(device, &info, NULL, &s->pool);
	}
	if (res == VK_SUCCESS) {
		VkCommandBufferAllocateInfo info = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
		info.commandPool = s->pool;
		info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
		info.commandBufferCount = 1;
		res = s->alloc_cmds(device, &info, &s->cmd);
	}
	if (res != VK_SUCCESS) {
		ganvk_swapchain_free(s);
		return res;
	}
	*out = s;
	return VK_SUCCESS;
}

VkResult ganvk_swapchain_resize(ganvk_swapchain *s, uint32_t width, uint32_t height) {
	VkResult res = ganvk_swapchain_wait(s);
	if (res != VK_SUCCESS) return res;
	VkSurfaceCapabilitiesKHR caps;
	res = s->surface_caps(s->pd, s->surface, &caps);
	if (res != VK_SUCCESS) return res;
	if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_DST_BIT)) return VK_ERROR_FORMAT_NOT_SUPPORTED;
	if (caps.currentExtent.width != UINT32_MAX) {
		width = caps.currentExtent.width;
		height = caps.currentExtent.height;
	} else {
		if (width < caps.minImageExtent.width) width = caps.minImageExtent.width;
		if (width > caps.maxImageExtent.width) width = caps.maxImageExtent.width;
		if (height < caps.minImageExtent.height) height = caps.minImageExtent.height;
		if (height > caps.maxImageExtent.height) height = caps.maxImageExtent.height;
	}
	VkSwapchainKHR old = s->swapchain;
	s->swapchain = VK_NULL_HANDLE;
	s->width = s->height = s->count = 0;
	if (width == 0 || height == 0) {
		if (old != VK_NULL_HANDLE) s->destroy_swapchain(s->device, old, NULL);
		return VK_SUCCESS;
	}
	uint32_t count = caps.minImageCount + 1;
	if (caps.maxImageCount > 0 && count > caps.maxImageCount) count = caps.maxImageCount;
	VkCompositeAlphaFlagBitsKHR alpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
	for (uint32_t bit = 1; !(caps.supportedCompositeAlpha & alpha) && bit <= 8; bit <<= 1) {
		if (caps.supportedCompositeAlpha & bit) alpha = (VkCompositeAlphaFlagBitsKHR)bit;
	}
	VkSwapchainCreateInfoKHR info = {VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
	info.surface = s->surface;
	info.minImageCount = count;
	info.imageFormat = s->format.format;
	info.imageColorSpace = s->format.colorSpace;
	info.imageExtent.width = width;
	info.imageExtent.height = height;
	info.imageArrayLayers = 1;
	info.imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
	info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
	info.preTransform = caps.currentTransform;
	info.compositeAlpha = alpha;
	info.presentMode = VK_PRESENT_MODE_FIFO_KHR; // the one mode every device has
	info.clipped = VK_TRUE;
	info.oldSwapchain = old;
	res = s->create_swapchain(s->device, &info, NULL, &s->swapchain);
	if (old != VK_NULL_HANDLE) s->destroy_swapchain(s->device, old, NULL);
	if (res != VK_SUCCESS) {
		s->swapchain = VK_NULL_HANDLE;
		return res;
	}
	uint32_t n = 0;
	res = s->get_images(s->device, s->swapchain, &n, NULL);
	if (res == VK_SUCCESS && n > GANVK_MAX_IMAGES) res = VK_ERROR_TOO_MANY_OBJECTS;
	if (res == VK_SUCCESS) res = s->get_images(s->device, s->swapchain, &n, s->images);
	if (res != VK_SUCCESS) {
		s->destroy_swapchain(s->device, s->swapchain, NULL);
		s->swapchain = VK_NULL_HANDLE;
		return res;
	}
	s->width = width;
	s->height = height;
	s->count = n;
	return VK_SUCCESS;
}

void ganvk_swapchain_extent(ganvk_swapchain *s, uint32_t *width, uint32_t *height, int *bgra) {
	*width = s->width;
	*height = s->height;
	*bgra = s->format.format == VK_FORMAT_B8G8R8A8_UNORM || s->format.format == VK_FORMAT_B8G8R8A8_SRGB;
}

static void image_barrier(ganvk_swapchain *s, VkImage image, VkImageLayout from, VkImageLayout to,
		VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
		VkPipelineStageFlags dst_stage) {
	VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
	b.srcAccessMask = src_access;
	b.dstAccessMask = dst_access;
	b.oldLayout = from;
	b.newLayout = to;
	b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
	b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
	b.image = image;
	b.subresourceRange.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
	b.subresourceRange.levelCount = 1;
	b.subresourceRange.layerCount = 1;
	s->barrier(s->cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

VkResult ganvk_swapchain_record(ganvk_swapchain *s, uint64_t buffer, uint64_t offset) {
	if (s->swapchain == VK_NULL_HANDLE) return VK_ERROR_OUT_OF_DATE_KHR;
	VkResult res = ganvk_swapchain_wait(s);
	if (res != VK_SUCCESS) return res;
	VkResult acq = s->acquire(s->device, s->swapchain, 1000000000ull, s->acquired, VK_NULL_HANDLE, &s->index);
	if (acq != VK_SUCCESS && acq != VK_SUBOPTIMAL_KHR) return acq;
	VkCommandBufferBeginInfo begin = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
	res = s->begin(s->cmd, &begin);
	if (res != VK_SUCCESS) return res;
	// What compute shaders (and copies) submitted earlier on this queue wrote
	// to the frame buffer is what the copy reads.
	VkMemoryBarrier mem = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
	mem.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
	mem.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
	s->barrier(s->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
		VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mem, 0, NULL, 0, NULL);
	VkImage image = s->images[s->index];
	image_barrier(s, image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
		VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
	VkBufferImageCopy region = {0};
	region.bufferOffset = offset;
	region.imageSubresource.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
	region.imageSubresource.layerCount = 1;
	region.imageExtent.width = s->width;
	region.imageExtent.height = s->height;
	region.imageExtent.depth = 1;
	s->copy(s->cmd, (VkBuffer)(uintptr_t)buffer, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
	image_barrier(s, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
		VK_ACCESS_TRANSFER_WRITE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
	res = s->end(s->cmd);
	return res != VK_SUCCESS ? res : acq;
}

VkResult ganvk_swapchain_submit(ganvk_swapchain *s) {
	VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
	VkSubmitInfo info = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
	info.waitSemaphoreCount = 1;
	info.pWaitSemaphores = &s->acquired;
	info.pWaitDstStageMask = &stage;
	info.commandBufferCount = 1;
	info.pCommandBuffers = &s->cmd;
	info.signalSemaphoreCount = 1;
	info.pSignalSemaphores = &s->rendered[s->index];
	VkResult res = s->submit(s->queue, 1, &info, s->fence);
	if (res != VK_SUCCESS) return res;
	s->fence_pending = 1;
	VkPresentInfoKHR present = {VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
	present.waitSemaphoreCount = 1;
	present.pWaitSemaphores = &s->rendered[s->index];
	present.swapchainCount = 1;
	present.pSwapchains = &s->swapchain;
	present.pImageIndices = &s->index;
	return s->present(s->queue, &present);
}

VkResult ganvk_swapchain_wait(ganvk_swapchain *s) {
	if (!s->fence_pending) return VK_SUCCESS;
	VkResult res = s->wait_fences(s->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
	if (res != VK_SUCCESS) return res;
	s->fence_pending = 0;
	return s->reset_fences(s->device, 1, &s->fence);
}

void ganvk_swapchain_free(ganvk_swapchain *s) {
	if (s == NULL) return;
	if (s->fence_pending && s->wait_fences) s->wait_fences(s->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
	// The copy's fence does not cover the present, which may still wait on
	// the last rendered semaphore: the queue idle, nothing uses them.
	if (s->wait_idle && s->queue) s->wait_idle(s->queue);
	if (s->pool && s->destroy_pool) s->destroy_pool(s->device, s->pool, NULL);
	if (s->fence && s->destroy_fence) s->destroy_fence(s->device, s->fence, NULL);
	for (int i = 0; i < GANVK_MAX_IMAGES; i++) {
		if (s->rendered[i] && s->destroy_semaphore) s->destroy_semaphore(s->device, s->rendered[i], NULL);
	}
	if (s->acquired && s->destroy_semaphore) s->destroy_semaphore(s->device, s->acquired, NULL);
	if (s->swapchain && s->destroy_swapchain) s->destroy_swapchain(s->device, s->swapchain, NULL);
	if (s->surface) {
		PFN_vkDestroySurfaceKHR destroy = s->destroy_surface;
		if (destroy == NULL) destroy = (PFN_vkDestroySurfaceKHR)ganvk_gipa()(s->instance, "vkDestroySurfaceKHR");
		if (destroy != NULL) destroy(s->instance, s->surface, NULL);
	}
	free(s);
}
