package vk_test

import (
	"fmt"
	"log"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// y = 2·x + y on the default device, recorded once and run twice.
func Example() {
	dev, err := vk.Open(vk.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	// shaders/axpy.comp: workgroup size is constant 0, the scale A constant 1,
	// and the element count a push constant.
	k, err := dev.NewKernel("axpy", shaders.Axpy.SPIRV(), vk.SpecUint(0, 64), vk.SpecFloat(1, 2))
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()

	xs, ys := []float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}
	x, err := dev.NewBuffer("x", 4*len(xs))
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	y, err := dev.NewBuffer("y", 4*len(ys))
	if err != nil {
		log.Fatal(err)
	}
	defer y.Close()
	if err := x.Upload(0, vk.Float32Bytes(xs)); err != nil {
		log.Fatal(err)
	}
	if err := y.Upload(0, vk.Float32Bytes(ys)); err != nil {
		log.Fatal(err)
	}

	seq, err := dev.NewSequence("axpy")
	if err != nil {
		log.Fatal(err)
	}
	defer seq.Close()
	seq.Dispatch(k, vk.GroupsFor(len(xs), 64), struct{ N uint32 }{uint32(len(xs))}, x, y)
	for run := 0; run < 2; run++ {
		if err := seq.Submit(); err != nil {
			log.Fatal(err)
		}
		if err := y.Download(0, vk.Float32Bytes(ys)); err != nil {
			log.Fatal(err)
		}
		fmt.Println(ys)
	}
	// Output:
	// [12 24 36 48]
	// [14 28 42 56]
}
