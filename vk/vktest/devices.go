package vktest

import "github.com/gan-vk/gan-vk/vk"

// H200 is an NVIDIA H200 as Vulkan describes it to gan-vk, for tests of
// what a GPU is given on a machine that has none: the limits gan-vk
// devices printed on 2026-11-27 (bench/results/2026-11-27-h200-shared),
// and maxStorageBufferRange and maxTexelBufferElements as NVIDIA's drivers
// report them (4 GiB − 1 and 128 Mi; that listing did not print them).
func H200() vk.DeviceInfo {
	return vk.DeviceInfo{Name: "NVIDIA H200", Type: vk.TypeDiscrete, VendorID: 0x10de, DriverName: "NVIDIA", DriverInfo: "580.159.04",
		MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, MaxWorkgroupInvocations: 1024, MaxWorkgroupCount: [3]uint32{1<<31 - 1, 65535, 65535},
		SharedMemory: 48 << 10, SubgroupSize: 32, MaxPushConstantsSize: 256, MaxStorageBufferRange: 1<<32 - 1,
		MinStorageBufferAlign: 16, MaxTexelBufferElements: 128 << 20, MinTexelBufferAlign: 16, Timestamps: true, TimestampPeriod: 1,
		QueueFamily: 0}
}
