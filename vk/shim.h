// shim.h declares the few Vulkan entry points that vulkan-go does not wrap:
// loading the loader by its versioned name, the VK_EXT_debug_utils messenger,
// and vkGetPhysicalDeviceProperties2 (Vulkan 1.1). Everything is reached through
// vkGetInstanceProcAddr, so the binary does not link against libvulkan.
//
// It also makes the calls whose arguments are arrays of structs. vulkan-go
// copies such an array into C memory that a finalizer frees: the finalizer
// can run (after any garbage collection) while the C call still reads it,
// which crashed vkCreateComputePipelines about one run in five. Here the
// structs are built on the C stack for the length of the call. The
// enumerations are worse: the driver writes their arrays, so a finalizer
// that freed one first corrupts the C heap ("corrupted double-linked list",
// seen in about one run in twenty of TestOpenCloseHundredTimes); here they
// fill arrays that the caller owns and frees.
#ifndef GANVK_SHIM_H
#define GANVK_SHIM_H

#include <stdint.h>
#include <vulkan/vulkan.h>

// ganvk_load opens the Vulkan loader (path, or libvulkan.so.1 then libvulkan.so
// when path is empty) and returns its vkGetInstanceProcAddr, or NULL.
void *ganvk_load(const char *path);

// ganvk_validation_features returns a static VkValidationFeaturesEXT that turns
// on synchronization validation; it lives in C memory and may sit in pNext.
void *ganvk_validation_features(void);

VkResult ganvk_create_messenger(VkInstance instance, uintptr_t user, VkDebugUtilsMessengerEXT *out);
void ganvk_destroy_messenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger);

typedef struct {
	uint32_t subgroup_size;       // 0 when unknown
	uint64_t max_allocation_size; // 0 when unknown
	uint8_t device_uuid[VK_UUID_SIZE]; // VkPhysicalDeviceIDProperties (Vulkan 1.1)
	int has_driver;               // driver_name and driver_info are set
	char driver_name[VK_MAX_DRIVER_NAME_SIZE];
	char driver_info[VK_MAX_DRIVER_INFO_SIZE];
} ganvk_props;

// ganvk_query fills out with what vkGetPhysicalDeviceProperties2 reports.
// want_driver asks for VkPhysicalDeviceDriverProperties (Vulkan 1.2 or
// VK_KHR_driver_properties).
void ganvk_query(VkInstance instance, VkPhysicalDevice device, int want_driver, ganvk_props *out);

// ganvk_load_commands looks up the commands below through instance; they are
// the loader's trampolines, valid for every device of every instance.
// It returns 0 when one is missing.
int ganvk_load_commands(VkInstance instance);

// The enumerations each return a malloc'd array that the caller frees,
// with its length in *n, or NULL (and *n = 0) when there is nothing or the
// call failed. The instance's lists need no instance; a device's take the
// instance it was enumerated from.
VkExtensionProperties *ganvk_instance_extensions(uint32_t *n);
VkLayerProperties *ganvk_instance_layers(uint32_t *n);
VkExtensionProperties *ganvk_device_extensions(VkInstance instance, VkPhysicalDevice device, uint32_t *n);
VkQueueFamilyProperties *ganvk_queue_families(VkInstance instance, VkPhysicalDevice device, uint32_t *n);

VkResult ganvk_create_compute_pipeline(VkDevice device, VkShaderModule module, VkPipelineLayout layout,
	uint32_t nspecs, const uint32_t *ids, const uint32_t *values, VkPipeline *out);

VkResult ganvk_queue_submit(VkQueue queue, VkCommandBuffer cmd, VkFence fence);

// ganvk_write_set writes n bindings 0..n-1 of set: binding i is a texel
// buffer view views[i] when texel[i], else a storage buffer range.
void ganvk_write_set(VkDevice device, VkDescriptorSet set, uint32_t n, const int32_t *texel,
	const uint64_t *buffers, const uint64_t *offsets, const uint64_t *ranges, const uint64_t *views);

void ganvk_cmd_copy_buffer(VkCommandBuffer cmd, VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t size);

void ganvk_cmd_memory_barrier(VkCommandBuffer cmd, uint32_t src_stage, uint32_t dst_stage, uint32_t src_access, uint32_t dst_access);

#endif
