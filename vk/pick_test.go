package vk

import (
	"errors"
	"strings"
	"testing"
)

// Device choice, on made-up device lists.
func TestPick(t *testing.T) {
	cpu := DeviceInfo{Name: "llvmpipe", Type: TypeCPU}
	discrete := DeviceInfo{Name: "NVIDIA H100", Type: TypeDiscrete}
	integrated := DeviceInfo{Name: "Intel Iris Xe", Type: TypeIntegrated}
	old := DeviceInfo{Name: "Old Radeon", Type: TypeDiscrete, Problem: "supports Vulkan 1.0.0; gan-vk needs 1.1.0"}
	for _, tc := range []struct {
		name    string
		devices []DeviceInfo
		sel     string
		want    int    // index picked, or -1
		errText string // when want is -1
	}{
		{"discrete beats integrated and CPU", []DeviceInfo{cpu, integrated, discrete}, "", 2, ""},
		{"integrated beats CPU", []DeviceInfo{cpu, integrated}, "", 1, ""},
		{"unusable devices are passed over", []DeviceInfo{old, cpu}, "", 1, ""},
		{"by index", []DeviceInfo{cpu, discrete}, "0", 0, ""},
		{"by name, any case", []DeviceInfo{cpu, discrete}, "h100", 1, ""},
		{"index out of range", []DeviceInfo{cpu}, "3", -1, `there is no device 3; the devices are 0 "llvmpipe"`},
		{"no name matches", []DeviceInfo{cpu, discrete}, "radeon", -1, `no device name contains "radeon"`},
		{"several names match", []DeviceInfo{discrete, {Name: "NVIDIA A100", Type: TypeDiscrete}}, "nvidia", -1, "matches several devices"},
		{"chosen device is unusable", []DeviceInfo{old, cpu}, "0", -1, "needs 1.1.0"},
		{"nothing usable", []DeviceInfo{old}, "", -1, "none of the devices can run gan-vk"},
		{"no devices", nil, "", -1, "found no devices; install a Vulkan driver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &instance{infos: append([]DeviceInfo(nil), tc.devices...)}
			for i := range in.infos {
				in.infos[i].Index = i
			}
			got, err := in.pick(tc.sel)
			if tc.want >= 0 {
				if err != nil || got != tc.want || !in.infos[got].Picked {
					t.Fatalf("picked %d (err %v), want %d", got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("got %d, %v; want ErrNoDevice saying %q", got, err, tc.errText)
			}
		})
	}
}
