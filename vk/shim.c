#include <dlfcn.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

static PFN_vkGetInstanceProcAddr gipa;

void *ganvk_load(const char *path) {
	void *lib = NULL;
	if (path != NULL && path[0] != 0) {
		lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	} else {
		lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
		if (lib == NULL) lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
	}
	if (lib == NULL) return NULL;
	PFN_vkGetInstanceProcAddr f = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
	if (f == NULL) return NULL;
	gipa = f;
	return (void *)f;
}

static VkValidationFeatureEnableEXT enables[] = {
	VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT,
};
static VkValidationFeaturesEXT features = {
	VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT, NULL, 1, enables, 0, NULL,
};

void *ganvk_validation_features(void) { return &features; }

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
		VkDebugUtilsMessageTypeFlagsEXT types, const VkDebugUtilsMessengerCallbackDataEXT *data,
		void *user) {
	const char *id = data->pMessageIdName ? data->pMessageIdName : "";
	const char *msg = data->pMessage ? data->pMessage : "";
	ganvkOnMessage((uintptr_t)user, (int)severity, (int)types, (char *)id, (char *)msg);
	return VK_FALSE;
}

VkResult ganvk_create_messenger(VkInstance instance, uintptr_t user, VkDebugUtilsMessengerEXT *out) {
	PFN_vkCreateDebugUtilsMessengerEXT create =
		(PFN_vkCreateDebugUtilsMessengerEXT)gipa(instance, "vkCreateDebugUtilsMessengerEXT");
	if (create == NULL) return VK_ERROR_EXTENSION_NOT_PRESENT;
	VkDebugUtilsMessengerCreateInfoEXT info = {0};
	info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
	info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
		VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
	info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
		VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
		VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
	info.pfnUserCallback = on_message;
	info.pUserData = (void *)user;
	return create(instance, &info, NULL, out);
}

void ganvk_destroy_messenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger) {
	PFN_vkDestroyDebugUtilsMessengerEXT destroy =
		(PFN_vkDestroyDebugUtilsMessengerEXT)gipa(instance, "vkDestroyDebugUtilsMessengerEXT");
	if (destroy != NULL) destroy(instance, messenger, NULL);
}

void ganvk_query(VkInstance instance, VkPhysicalDevice device, int want_driver, ganvk_props *out) {
	memset(out, 0, sizeof(*out));
	PFN_vkGetPhysicalDeviceProperties2 get =
		(PFN_vkGetPhysicalDeviceProperties2)gipa(instance, "vkGetPhysicalDeviceProperties2");
	if (get == NULL) return;

	VkPhysicalDeviceDriverProperties driver = {0};
	driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
	VkPhysicalDeviceMaintenance3Properties m3 = {0};
	m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
	m3.pNext = want_driver ? &driver : NULL;
	VkPhysicalDeviceSubgroupProperties sub = {0};
	sub.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
	sub.pNext = &m3;
	VkPhysicalDeviceProperties2 props = {0};
	props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
	props.pNext = &sub;
	get(device, &props);

	out->subgroup_size = sub.subgroupSize;
	out->max_allocation_size = m3.maxMemoryAllocationSize;
	if (want_driver) {
		out->has_driver = 1;
		memcpy(out->driver_name, driver.driverName, sizeof(out->driver_name));
		memcpy(out->driver_info, driver.driverInfo, sizeof(out->driver_info));
		out->driver_name[sizeof(out->driver_name) - 1] = 0;
		out->driver_info[sizeof(out->driver_info) - 1] = 0;
	}
}
