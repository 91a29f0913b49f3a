// Package vk is gan-vk's thin Vulkan layer and the only package that imports
// vulkan-go. Its nouns:
//
//   - Device (Open): an instance, the chosen physical device, one compute
//     queue, device memory and a staging ring. It owns everything below and
//     destroys what is left at Close, reporting it as a leak.
//   - Buffer (Device.NewBuffer): a range of one of a few large memory blocks;
//     Upload and Download go through the staging ring.
//   - Kernel (Device.NewKernel): SPIR-V with its specialization constants
//     fixed; descriptor and push-constant layouts are read from the SPIR-V,
//     so what a dispatch passes is checked against the shader.
//   - Sequence (Device.NewSequence): a recorded command buffer. Recording
//     places barriers from the buffers each command reads and writes; Submit
//     runs it and can replay it without re-recording.
//
// Failed Vulkan calls come back as *Error (the call and its VkResult);
// errors.Is matches ErrDeviceLost and ErrOutOfDeviceMemory. Environment
// problems have their own sentinels: ErrNoLoader, ErrNoDevice,
// ErrNoValidationLayer.
//
// vulkan-go's sharp edges are handled here once: strings passed to it are
// NUL-terminated, every struct it fills is Deref'd (nested ones too), output
// handles live in plain variables, and data that would leave a Go pointer in
// C memory (specialization constants) is copied to C first.
package vk
