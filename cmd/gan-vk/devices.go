package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gan-vk/gan-vk/vk"
)

func runDevices(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("devices", "devices [--device D]\n\nLists every Vulkan device; '*' marks the one training would use.", stdout, stderr)
	device := fs.String("device", "", "mark the device this `selector` picks: an index, or part of a name (default: the best device)")
	if err := parse(fs, args); err != nil {
		return err
	}
	infos, err := vk.Devices(vk.Options{Device: *device})
	// A --device that matches nothing still lists the devices there are.
	printDevices(stdout, infos)
	return err
}

func printDevices(w io.Writer, infos []vk.DeviceInfo) {
	for i, d := range infos {
		if i > 0 {
			fmt.Fprintln(w)
		}
		mark, note := " ", ""
		if d.Picked {
			mark, note = "*", "   <- training uses this device"
		}
		fmt.Fprintf(w, "%s %d: %s%s\n", mark, d.Index, d.Name, note)
		row := func(k, format string, a ...any) { fmt.Fprintf(w, "     %-11s "+format+"\n", append([]any{k}, a...)...) }
		row("type", "%s", d.Type)
		driver := "not reported (Vulkan < 1.2)"
		if d.DriverName != "" {
			driver = strings.TrimSpace(d.DriverName + ", " + d.DriverInfo)
		}
		row("driver", "%s", driver)
		row("api", "Vulkan %s", d.APIVersion)
		var heaps []string
		for _, h := range d.Heaps {
			s := bytesString(h.Size)
			if h.DeviceLocal {
				s += " device-local"
			}
			heaps = append(heaps, s)
		}
		row("memory", "%s", strings.Join(heaps, ", "))
		row("workgroup", "max %d×%d×%d, %d invocations, %s shared memory",
			d.MaxWorkgroupSize[0], d.MaxWorkgroupSize[1], d.MaxWorkgroupSize[2], d.MaxWorkgroupInvocations, bytesString(uint64(d.SharedMemory)))
		sub := "unknown"
		if d.SubgroupSize > 0 {
			sub = fmt.Sprint(d.SubgroupSize)
		}
		row("subgroup", "%s", sub)
		row("buffers", "%s bound as storage, %d Mi texels as a texel view, %s allocated at once",
			bytesString(uint64(d.MaxStorageBufferRange)), d.MaxTexelBufferElements>>20, allocString(d.MaxAllocationSize))
		ts := "no"
		if d.Timestamps {
			ts = fmt.Sprintf("yes (%g ns per tick)", d.TimestampPeriod)
		}
		row("timestamps", "%s", ts)
		if d.Problem != "" {
			row("unusable", "%s", d.Problem)
		}
	}
}

func allocString(n uint64) string {
	if n == 0 {
		return "unknown"
	}
	return bytesString(n)
}

func bytesString(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
