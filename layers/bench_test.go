package layers_test

import (
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// The benchmarks time each convolution pass of the DCGAN models at batch
// 64 with device timestamps, after a warm-up run, and report GFLOP/s. A
// pass's FLOPs are 2 × the multiply-adds of the dense definition (every
// tap of the kernel, padding included), the count PyTorch profilers use:
//
//	conv2d          2·N·K·OH·OW·C·KH·KW   (forward, data and filter alike)
//	conv_transpose  2·N·C·H·W·K·KH·KW
//
// Backward-data of a conv is the transposed conv of the swapped geometry
// (and the other way round), so "data" is benchmarked as that op's
// forward; "filter" is Backward with no dx. Run them without the
// validation layer:
//
//	go test -run - -bench . ./layers/

type benchOp struct {
	name       string
	transposed bool
	g          geomCfg
}

// geomCfg is N×C×H×W → K channels, 5×5 unless stated.
type geomCfg struct{ n, c, h, w, k, kh, s, p, op int }

func dcgan(n int) []benchOp {
	g := func(c, h, k int) geomCfg { return geomCfg{n, c, h, h, k, 5, 2, 2, 1} }
	return []benchOp{
		{"dcgan64/G/dense_100-16384", false, geomCfg{n, 100, 1, 1, 16384, 1, 1, 0, 0}},
		{"dcgan64/G/convT_1024-512_4", true, g(1024, 4, 512)},
		{"dcgan64/G/convT_512-256_8", true, g(512, 8, 256)},
		{"dcgan64/G/convT_256-128_16", true, g(256, 16, 128)},
		{"dcgan64/G/convT_128-3_32", true, g(128, 32, 3)},
		{"dcgan64/D/conv_3-64_64", false, g(3, 64, 64)},
		{"dcgan64/D/conv_64-128_32", false, g(64, 32, 128)},
		{"dcgan64/D/conv_128-256_16", false, g(128, 16, 256)},
		{"dcgan64/D/conv_256-512_8", false, g(256, 8, 512)},
		{"dcgan64/D/dense_8192-1", false, geomCfg{n, 8192, 1, 1, 1, 1, 1, 0, 0}},
		{"dcgan28/G/dense_100-12544", false, geomCfg{n, 100, 1, 1, 12544, 1, 1, 0, 0}},
		{"dcgan28/G/convT_256-128_7s1", true, geomCfg{n, 256, 7, 7, 128, 5, 1, 2, 0}},
		{"dcgan28/G/convT_128-64_7", true, g(128, 7, 64)},
		{"dcgan28/G/convT_64-1_14", true, g(64, 14, 1)},
		{"dcgan28/D/conv_1-64_28", false, g(1, 28, 64)},
		{"dcgan28/D/conv_64-128_14", false, g(64, 14, 128)},
		{"dcgan28/D/dense_6272-1", false, geomCfg{n, 6272, 1, 1, 1, 1, 1, 0, 0}},
	}
}

func (g geomCfg) conv() layers.Conv2dConfig {
	return layers.Conv2dConfig{N: g.n, C: g.c, H: g.h, W: g.w, K: g.k, KH: g.kh, KW: g.kh, Stride: g.s, Pad: g.p}
}

func (g geomCfg) convT() layers.ConvTranspose2dConfig {
	return layers.ConvTranspose2dConfig{N: g.n, C: g.c, H: g.h, W: g.w, K: g.k, KH: g.kh, KW: g.kh, Stride: g.s, Pad: g.p, OutPad: g.op}
}

// swapped is the geometry of the other direction: from this op's output
// back to its input.
func (g geomCfg) swapped(transposed bool) geomCfg {
	if transposed {
		c := g.convT()
		return geomCfg{g.n, g.k, c.OutH(), c.OutW(), g.c, g.kh, g.s, g.p, 0}
	}
	c := g.conv()
	return geomCfg{g.n, g.k, c.OutH(), c.OutW(), g.c, g.kh, g.s, g.p, g.h - ((c.OutH()-1)*g.s - 2*g.p + g.kh)}
}

// macs is the multiply-adds of the dense definition.
func (g geomCfg) macs(transposed bool) float64 {
	if transposed {
		return float64(g.n * g.c * g.h * g.w * g.k * g.kh * g.kh)
	}
	c := g.conv()
	return float64(g.n * g.k * c.OutH() * c.OutW() * g.c * g.kh * g.kh)
}

// convOp builds the op of one direction and its buffers.
type built struct {
	o                           op
	x, w, b, y, dx, dw, db, dyb *vk.Buffer
}

func build(b *testing.B, d *vk.Device, g geomCfg, transposed bool) built {
	var o op
	var err error
	var nx, ny, nw int
	if transposed {
		c := g.convT()
		o, err = layers.NewConvTranspose2d(d, c)
		nx, ny, nw = g.n*g.c*g.h*g.w, g.n*g.k*c.OutH()*c.OutW(), g.c*g.k*g.kh*g.kh
	} else {
		c := g.conv()
		o, err = layers.NewConv2d(d, c)
		nx, ny, nw = g.n*g.c*g.h*g.w, g.n*g.k*c.OutH()*c.OutW(), g.c*g.k*g.kh*g.kh
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(o.Close)
	return built{o: o, x: alloc(b, d, "x", nx), w: alloc(b, d, "w", nw), b: alloc(b, d, "b", g.k),
		y: alloc(b, d, "y", ny), dw: alloc(b, d, "dw", nw), db: alloc(b, d, "db", g.k), dyb: alloc(b, d, "dy", ny)}
}

// timeIt runs rec's recording after a warm-up, b.N times, and reports the
// device time per run and GFLOP/s.
func timeIt(b *testing.B, d *vk.Device, flops float64, rec func(s *vk.Sequence)) {
	per := deviceSeconds(b, d, rec)
	b.ReportMetric(per*1e3, "device-ms/op")
	b.ReportMetric(flops/per/1e9, "GFLOP/s")
}

// timeBytes is timeIt for memory-bound ops: it reports GB/s instead.
func timeBytes(b *testing.B, d *vk.Device, bytes int, rec func(s *vk.Sequence)) {
	per := deviceSeconds(b, d, rec)
	b.ReportMetric(per*1e3, "device-ms/op")
	b.ReportMetric(float64(bytes)/per/1e9, "GB/s")
}

// deviceSeconds is the mean device time of b.N runs of rec's recording,
// between timestamps around it, after one run to warm up (first touches
// of fresh memory are slow on lavapipe).
func deviceSeconds(b *testing.B, d *vk.Device, rec func(s *vk.Sequence)) float64 {
	s, err := d.NewSequence(b.Name())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Timestamp("start")
	rec(s)
	s.Timestamp("end")
	if err := s.Submit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var dev time.Duration
	for i := 0; i < b.N; i++ {
		if err := s.Submit(); err != nil {
			b.Fatal(err)
		}
		st, err := s.Timestamps()
		if err != nil {
			b.Fatal(err)
		}
		dev += st[1].At
	}
	return dev.Seconds() / float64(b.N)
}

func BenchmarkConv(b *testing.B) {
	d := vktest.OpenWith(b, vk.Options{})
	for _, c := range dcgan(64) {
		flops := 2 * c.g.macs(c.transposed)
		b.Run(c.name+"/fwd", func(b *testing.B) {
			o := build(b, d, c.g, c.transposed)
			timeIt(b, d, flops, func(s *vk.Sequence) { o.o.Forward(s, o.y, o.x, o.w, o.b) })
		})
		b.Run(c.name+"/data", func(b *testing.B) {
			o := build(b, d, c.g.swapped(c.transposed), !c.transposed)
			timeIt(b, d, flops, func(s *vk.Sequence) { o.o.Forward(s, o.y, o.x, o.w, o.b) })
		})
		b.Run(c.name+"/filter", func(b *testing.B) {
			o := build(b, d, c.g, c.transposed)
			timeIt(b, d, flops, func(s *vk.Sequence) { o.o.Backward(s, nil, o.dw, o.db, o.dyb, o.x, o.w, o.y) })
		})
	}
}

// BenchmarkOps times the memory-bound ops at the DCGAN shapes at batch 64
// and reports GB/s: the bytes each pass must read and write once.
func BenchmarkOps(b *testing.B) {
	d := vktest.OpenWith(b, vk.Options{})
	for _, c := range []struct {
		name        string
		n, ch, h, w int
	}{
		{"dcgan64/G/bn_1024x4x4", 64, 1024, 4, 4},
		{"dcgan64/G/bn_128x32x32", 64, 128, 32, 32},
		{"dcgan64/D/bn_128x16x16", 64, 128, 16, 16},
		{"dcgan28/G/bn_64x14x14", 64, 64, 14, 14},
	} {
		count := c.n * c.ch * c.h * c.w
		bn, err := layers.NewBatchNorm2d(d, layers.BatchNorm2dConfig{N: c.n, C: c.ch, H: c.h, W: c.w, Act: lrelu})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(bn.Close)
		x, y, g, be, run := alloc(b, d, "x", count), alloc(b, d, "y", count), alloc(b, d, "g", c.ch), alloc(b, d, "b", c.ch), alloc(b, d, "run", 2*c.ch)
		dg, db, dy := alloc(b, d, "dg", c.ch), alloc(b, d, "db", c.ch), alloc(b, d, "dy", count)
		// Forward reads x twice for the statistics and once to normalise,
		// and writes y; backward reads x, y and dy twice and writes dx.
		b.Run(c.name+"+lrelu/fwd", func(b *testing.B) {
			timeBytes(b, d, 16*count, func(s *vk.Sequence) { bn.Forward(s, y, x, g, be, run) })
		})
		b.Run(c.name+"+lrelu/bwd", func(b *testing.B) {
			timeBytes(b, d, 28*count, func(s *vk.Sequence) { bn.Backward(s, dy, dg, db, dy, x, y, g) })
		})
		act, err := layers.NewActivate(d, count, lrelu)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(act.Close)
		b.Run(c.name+"/lrelu_alone", func(b *testing.B) {
			timeBytes(b, d, 8*count, func(s *vk.Sequence) { act.Forward(s, y, y) })
		})
	}
	for _, c := range []struct {
		name  string
		count int
	}{
		// Every parameter of a model in one update: dcgan64 G and D.
		{"dcgan64/G/adam", 100*16384 + 2*1024 + 1024*512*25 + 2*512 + 512*256*25 + 2*256 + 256*128*25 + 2*128 + 128*3*25 + 3},
		{"dcgan64/D/adam", 3*64*25 + 64 + 64*128*25 + 2*128 + 128*256*25 + 2*256 + 256*512*25 + 2*512 + 8192 + 1},
	} {
		a, err := layers.NewAdam(d, c.count, layers.AdamConfig{LR: 2e-4, Beta1: 0.5})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(a.Close)
		clock, err := layers.NewClock(d, "adam", 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(clock.Close)
		p, g, m, v := alloc(b, d, "p", c.count), alloc(b, d, "g", c.count), alloc(b, d, "m", c.count), alloc(b, d, "v", c.count)
		b.Run(c.name, func(b *testing.B) {
			// Reads p, g, m, v and writes p, m, v.
			timeBytes(b, d, 28*c.count, func(s *vk.Sequence) { clock.Tick(s); a.Update(s, p, g, m, v, clock) })
		})
	}
}
