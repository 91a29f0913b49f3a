package vk_test

import (
	"testing"

	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// Benchmarks open the device without the validation layer, which would
// dominate the times.

// The fixed cost of a recorded step: a replay of 100 small dependent
// dispatches (each with its barrier), per dispatch, submit and wait included.
func BenchmarkReplay100Dispatches(b *testing.B) {
	d := vktest.OpenWith(b, vk.Options{})
	const n, dispatches = 1024, 100
	k := newAxpy(b, d, 1)
	x, y := newBuffer(b, d, "x", 4*n), newBuffer(b, d, "y", 4*n)
	s := newSequence(b, d, "replay")
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
	d := vktest.OpenWith(b, vk.Options{})
	const size = 64 << 20
	buf := newBuffer(b, d, "big", size)
	data := make([]byte, size)
	err := buf.Upload(0, data) // warm-up: first touch of the memory
	if err != nil {
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
