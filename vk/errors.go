package vk

import (
	"errors"
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// Sentinels for the failures a caller may want to handle; test with errors.Is.
var (
	ErrNoLoader          = errors.New("vk: no Vulkan loader")
	ErrNoDevice          = errors.New("vk: no usable Vulkan device")
	ErrNoValidationLayer = errors.New("vk: the Khronos validation layer is not installed")
	ErrDeviceLost        = errors.New("vk: device lost")
	ErrOutOfDeviceMemory = errors.New("vk: out of device memory")
	ErrLeak              = errors.New("vk: objects left alive at Close")
	ErrClosed            = errors.New("vk: use of a closed object")
	errSequenceFinished  = errors.New("sequence already submitted; Reset it to record again")
)

// Error is a failed Vulkan call: which call, and the VkResult it returned.
type Error struct {
	Call   string
	Result vk.Result
}

func newError(call string, res vk.Result) *Error { return &Error{Call: call, Result: res} }

func (e *Error) Error() string { return fmt.Sprintf("vk: %s: %s", e.Call, resultName(e.Result)) }

// Is lets errors.Is match the sentinels ErrDeviceLost and ErrOutOfDeviceMemory.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrDeviceLost:
		return e.Result == vk.ErrorDeviceLost
	case ErrOutOfDeviceMemory:
		return e.Result == vk.ErrorOutOfDeviceMemory
	}
	return false
}

// check turns a VkResult into nil or an *Error naming call.
func check(call string, res vk.Result) error {
	if res == vk.Success {
		return nil
	}
	return newError(call, res)
}

func resultName(r vk.Result) string {
	switch r {
	case vk.Success:
		return "VK_SUCCESS"
	case vk.NotReady:
		return "VK_NOT_READY"
	case vk.Timeout:
		return "VK_TIMEOUT"
	case vk.Incomplete:
		return "VK_INCOMPLETE"
	case vk.ErrorOutOfHostMemory:
		return "VK_ERROR_OUT_OF_HOST_MEMORY"
	case vk.ErrorOutOfDeviceMemory:
		return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
	case vk.ErrorInitializationFailed:
		return "VK_ERROR_INITIALIZATION_FAILED"
	case vk.ErrorDeviceLost:
		return "VK_ERROR_DEVICE_LOST"
	case vk.ErrorMemoryMapFailed:
		return "VK_ERROR_MEMORY_MAP_FAILED"
	case vk.ErrorLayerNotPresent:
		return "VK_ERROR_LAYER_NOT_PRESENT"
	case vk.ErrorExtensionNotPresent:
		return "VK_ERROR_EXTENSION_NOT_PRESENT"
	case vk.ErrorFeatureNotPresent:
		return "VK_ERROR_FEATURE_NOT_PRESENT"
	case vk.ErrorIncompatibleDriver:
		return "VK_ERROR_INCOMPATIBLE_DRIVER"
	case vk.ErrorTooManyObjects:
		return "VK_ERROR_TOO_MANY_OBJECTS"
	case vk.ErrorFormatNotSupported:
		return "VK_ERROR_FORMAT_NOT_SUPPORTED"
	case vk.ErrorFragmentedPool:
		return "VK_ERROR_FRAGMENTED_POOL"
	case vk.ErrorOutOfPoolMemory:
		return "VK_ERROR_OUT_OF_POOL_MEMORY"
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}
