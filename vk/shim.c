#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

static PFN_vkGetInstanceProcAddr gipa;

PFN_vkGetInstanceProcAddr ganvk_gipa(void) { return gipa; }

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
	VkPhysicalDeviceIDProperties id = {0};
	id.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
	id.pNext = &m3;
	VkPhysicalDeviceSubgroupProperties sub = {0};
	sub.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
	sub.pNext = &id;
	VkPhysicalDeviceProperties2 props = {0};
	props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
	props.pNext = &sub;
	get(device, &props);

	out->subgroup_size = sub.subgroupSize;
	out->max_allocation_size = m3.maxMemoryAllocationSize;
	memcpy(out->device_uuid, id.deviceUUID, sizeof(out->device_uuid));
	if (want_driver) {
		out->has_driver = 1;
		memcpy(out->driver_name, driver.driverName, sizeof(out->driver_name));
		memcpy(out->driver_info, driver.driverInfo, sizeof(out->driver_info));
		out->driver_name[sizeof(out->driver_name) - 1] = 0;
		out->driver_info[sizeof(out->driver_info) - 1] = 0;
	}
}

// enumerate runs a Vulkan enumeration twice, for the count and then into a
// malloc'd array of that many elements of size bytes, again while the list
// grew in between (VK_INCOMPLETE). call is one of the wrappers below.
typedef VkResult (*enumeration)(void *ctx[2], uint32_t *n, void *out);

static void *enumerate(enumeration call, void *ctx[2], size_t size, uint32_t *n) {
	for (;;) {
		*n = 0;
		if (call(ctx, n, NULL) != VK_SUCCESS || *n == 0) {
			*n = 0;
			return NULL;
		}
		void *out = calloc(*n, size);
		if (out == NULL) {
			*n = 0;
			return NULL;
		}
		VkResult r = call(ctx, n, out);
		if (r == VK_SUCCESS) return out;
		free(out);
		if (r != VK_INCOMPLETE) {
			*n = 0;
			return NULL;
		}
	}
}

static VkResult instance_extensions(void *ctx[2], uint32_t *n, void *out) {
	return ((PFN_vkEnumerateInstanceExtensionProperties)ctx[0])(NULL, n, out);
}

static VkResult instance_layers(void *ctx[2], uint32_t *n, void *out) {
	return ((PFN_vkEnumerateInstanceLayerProperties)ctx[0])(n, out);
}

static VkResult device_extensions(void *ctx[2], uint32_t *n, void *out) {
	return ((PFN_vkEnumerateDeviceExtensionProperties)ctx[0])((VkPhysicalDevice)ctx[1], NULL, n, out);
}

static VkResult queue_families(void *ctx[2], uint32_t *n, void *out) {
	((PFN_vkGetPhysicalDeviceQueueFamilyProperties)ctx[0])((VkPhysicalDevice)ctx[1], n, out);
	return VK_SUCCESS;
}

VkExtensionProperties *ganvk_instance_extensions(uint32_t *n) {
	void *ctx[2] = {(void *)gipa(NULL, "vkEnumerateInstanceExtensionProperties"), NULL};
	*n = 0;
	if (ctx[0] == NULL) return NULL;
	return enumerate(instance_extensions, ctx, sizeof(VkExtensionProperties), n);
}

VkLayerProperties *ganvk_instance_layers(uint32_t *n) {
	void *ctx[2] = {(void *)gipa(NULL, "vkEnumerateInstanceLayerProperties"), NULL};
	*n = 0;
	if (ctx[0] == NULL) return NULL;
	return enumerate(instance_layers, ctx, sizeof(VkLayerProperties), n);
}

VkExtensionProperties *ganvk_device_extensions(VkInstance instance, VkPhysicalDevice device, uint32_t *n) {
	void *ctx[2] = {(void *)gipa(instance, "vkEnumerateDeviceExtensionProperties"), (void *)device};
	*n = 0;
	if (ctx[0] == NULL) return NULL;
	return enumerate(device_extensions, ctx, sizeof(VkExtensionProperties), n);
}

VkQueueFamilyProperties *ganvk_queue_families(VkInstance instance, VkPhysicalDevice device, uint32_t *n) {
	void *ctx[2] = {(void *)gipa(instance, "vkGetPhysicalDeviceQueueFamilyProperties"), (void *)device};
	*n = 0;
	if (ctx[0] == NULL) return NULL;
	return enumerate(queue_families, ctx, sizeof(VkQueueFamilyProperties), n);
}

static PFN_vkCreateComputePipelines create_compute_pipelines;
static PFN_vkQueueSubmit queue_submit;
static PFN_vkUpdateDescriptorSets update_descriptor_sets;
static PFN_vkCmdCopyBuffer cmd_copy_buffer;
static PFN_vkCmdPipelineBarrier cmd_pipeline_barrier;

int ganvk_load_commands(VkInstance instance) {
	create_compute_pipelines = (PFN_vkCreateComputePipelines)gipa(instance, "vkCreateComputePipelines");
	queue_submit = (PFN_vkQueueSubmit)gipa(instance, "vkQueueSubmit");
	update_descriptor_sets = (PFN_vkUpdateDescriptorSets)gipa(instance, "vkUpdateDescriptorSets");
	cmd_copy_buffer = (PFN_vkCmdCopyBuffer)gipa(instance, "vkCmdCopyBuffer");
	cmd_pipeline_barrier = (PFN_vkCmdPipelineBarrier)gipa(instance, "vkCmdPipelineBarrier");
	return create_compute_pipelines && queue_submit && update_descriptor_sets && cmd_copy_buffer &&
		cmd_pipeline_barrier;
}

VkResult ganvk_create_compute_pipeline(VkDevice device, VkShaderModule module, VkPipelineLayout layout,
		uint32_t nspecs, const uint32_t *ids, const uint32_t *values, VkPipeline *out) {
	VkSpecializationMapEntry entries[nspecs > 0 ? nspecs : 1];
	for (uint32_t i = 0; i < nspecs; i++) {
		entries[i].constantID = ids[i];
		entries[i].offset = 4 * i;
		entries[i].size = 4;
	}
	VkSpecializationInfo spec = {nspecs, entries, 4 * (size_t)nspecs, values};
	VkComputePipelineCreateInfo info = {0};
	info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
	info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
	info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
	info.stage.module = module;
	info.stage.pName = "main";
	info.stage.pSpecializationInfo = nspecs > 0 ? &spec : NULL;
	info.layout = layout;
	return create_compute_pipelines(device, VK_NULL_HANDLE, 1, &info, NULL, out);
}

VkResult ganvk_queue_submit(VkQueue queue, VkCommandBuffer cmd, VkFence fence) {
	VkSubmitInfo info = {0};
	info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
	info.commandBufferCount = 1;
	info.pCommandBuffers = &cmd;
	return queue_submit(queue, 1, &info, fence);
}

void ganvk_write_set(VkDevice device, VkDescriptorSet set, uint32_t n, const int32_t *texel,
		const uint64_t *buffers, const uint64_t *offsets, const uint64_t *ranges, const uint64_t *views) {
	if (n == 0) return;
	VkWriteDescriptorSet writes[n];
	VkDescriptorBufferInfo infos[n];
	VkBufferView bviews[n];
	for (uint32_t i = 0; i < n; i++) {
		VkWriteDescriptorSet w = {0};
		w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
		w.dstSet = set;
		w.dstBinding = i;
		w.descriptorCount = 1;
		if (texel[i]) {
			bviews[i] = (VkBufferView)(uintptr_t)views[i];
			w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
			w.pTexelBufferView = &bviews[i];
		} else {
			infos[i].buffer = (VkBuffer)(uintptr_t)buffers[i];
			infos[i].offset = offsets[i];
			infos[i].range = ranges[i];
			w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
			w.pBufferInfo = &infos[i];
		}
		writes[i] = w;
	}
	update_descriptor_sets(device, n, writes, 0, NULL);
}

void ganvk_cmd_copy_buffer(VkCommandBuffer cmd, VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t size) {
	VkBufferCopy region = {src_off, dst_off, size};
	cmd_copy_buffer(cmd, src, dst, 1, &region);
}

void ganvk_cmd_memory_barrier(VkCommandBuffer cmd, uint32_t src_stage, uint32_t dst_stage, uint32_t src_access, uint32_t dst_access) {
	VkMemoryBarrier b = {0};
	b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
	b.srcAccessMask = src_access;
	b.dstAccessMask = dst_access;
	cmd_pipeline_barrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}
