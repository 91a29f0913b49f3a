package layers_test

import (
	"fmt"
	"log"
	"math"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// A dense layer with a fused LeakyReLU, forward and backward, in one
// recording: y = leaky_relu(x·wᵀ + b), then the gradients for dy = 1.
func ExampleLinear() {
	dev, err := vk.Open(vk.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	lin, err := layers.NewLinear(dev, layers.LinearConfig{N: 1, In: 2, Out: 2, Bias: true, Act: layers.LeakyReLU(0.5)})
	if err != nil {
		log.Fatal(err)
	}
	defer lin.Close()

	buf := func(name string, v ...float32) *vk.Buffer {
		b, err := dev.NewBuffer(name, 4*len(v))
		if err == nil {
			err = b.Upload(0, vk.Float32Bytes(v))
		}
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
	x, w, b := buf("x", 1, 2), buf("w", 1, 1, -1, -1), buf("b", 0, 1)
	y, dy, dx, dw, db := buf("y", 0, 0), buf("dy", 1, 1), buf("dx", 0, 0), buf("dw", 0, 0, 0, 0), buf("db", 0, 0)
	for _, b := range []*vk.Buffer{x, w, b, y, dy, dx, dw, db} {
		defer b.Close()
	}

	seq, err := dev.NewSequence("linear")
	if err != nil {
		log.Fatal(err)
	}
	defer seq.Close()
	lin.Forward(seq, y, x, w, b)
	lin.Backward(seq, dx, dw, db, dy, x, w, y)
	if err := seq.Submit(); err != nil {
		log.Fatal(err)
	}

	read := func(b *vk.Buffer) []float32 {
		raw := make([]byte, b.Size())
		if err := b.Download(0, raw); err != nil {
			log.Fatal(err)
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		return v
	}
	fmt.Println("y ", read(y))
	fmt.Println("dx", read(dx))
	fmt.Println("dw", read(dw))
	fmt.Println("db", read(db))
	// Output:
	// y  [3 -1]
	// dx [0.5 0.5]
	// dw [1 2 0.5 1]
	// db [1 0.5]
}
