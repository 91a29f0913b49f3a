// shim.h declares the few Vulkan entry points that vulkan-go does not wrap:
// loading the loader by its versioned name, the VK_EXT_debug_utils messenger,
// and vkGetPhysicalDeviceProperties2 (Vulkan 1.1). Everything is reached through
// vkGetInstanceProcAddr, so the binary does not link against libvulkan.
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
	int has_driver;               // driver_name and driver_info are set
	char driver_name[VK_MAX_DRIVER_NAME_SIZE];
	char driver_info[VK_MAX_DRIVER_INFO_SIZE];
} ganvk_props;

// ganvk_query fills out with what vkGetPhysicalDeviceProperties2 reports.
// want_driver asks for VkPhysicalDeviceDriverProperties (Vulkan 1.2 or
// VK_KHR_driver_properties).
void ganvk_query(VkInstance instance, VkPhysicalDevice device, int want_driver, ganvk_props *out);

#endif
