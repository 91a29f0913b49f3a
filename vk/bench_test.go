package vk_test

import (
	"testing"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Benchmarks open the device without the validation layer, which would
// dominate the times.
func openBench(b *testing.B) *vk.Device {
	b.Helper()
	d, err := vk.Open(vk.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := d.Close(); err != nil {
			b.Error(err)
		}
	})
	return d
}

// The fixed cost of a recorded step: a replay of 100 small dependent
// dispatches (each with its barrier), per dispatch, submit and wait included.
func BenchmarkReplay100Dispatches(b *testing.B) {
	d := openBench(b)
	const n, dispatches = 1024, 100
	k, err := d.NewKernel("axpy", shaders.Axpy.SPIRV(), vk.SpecUint(0, axpyLocal))
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	x, _ := d.NewBuffer("x", 4*n)
	y, _ := d.NewBuffer("y", 4*n)
	defer x.Close()
	defer y.Close()
	s, err := d.NewSequence("replay")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Fill(x, 0)
	s.Fill(y, 0)
	for i := 0; i < dispatches; i++ {
		s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y)
	}
	if err := s.Submit(); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Submit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*dispatches), "µs/dispatch")
}

func benchmarkTransfer(b *testing.B, up bool) {
	d := openBench(b)
	const size = 64 << 20
	buf, err := d.NewBuffer("big", size)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	data := make([]byte, size)
	if err := buf.Upload(0, data); err != nil { // warm-up: first touch of the memory
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if up {
			err = buf.Upload(0, data)
		} else {
			err = buf.Download(0, data)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpload64MiB(b *testing.B)   { benchmarkTransfer(b, true) }
func BenchmarkDownload64MiB(b *testing.B) { benchmarkTransfer(b, false) }
