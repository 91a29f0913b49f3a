package ref

import (
	"math"
	"math/bits"
)

// Philox is Philox4x32-10, the twin of philox() in common.glsl.
func Philox(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for round := 0; round < 10; round++ {
		hi0, lo0 := bits.Mul32(0xD2511F53, ctr[0])
		hi1, lo1 := bits.Mul32(0xCD9E8D57, ctr[2])
		ctr = [4]uint32{hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0}
		key[0] += 0x9E3779B9
		key[1] += 0xBB67AE85
	}
	return ctr
}

// Uniform01 is uniform01() in common.glsl: a word to (0, 1].
func Uniform01(u uint32) float64 { return (float64(u>>8) + 1) / 16777216 }

func key(seed uint64) [2]uint32 { return [2]uint32{uint32(seed), uint32(seed >> 32)} }

// Normal is the twin of shaders/normal.comp: count N(0, 1) draws at (seed,
// step, stream).
func Normal(count int, seed uint64, step, stream uint32) []float64 {
	z := make([]float64, count)
	for q := 0; 4*q < count; q++ {
		r := Philox([4]uint32{uint32(q), stream, step, 1}, key(seed))
		r0, r1 := math.Sqrt(-2*math.Log(Uniform01(r[0]))), math.Sqrt(-2*math.Log(Uniform01(r[2])))
		t0, t1 := 2*math.Pi*Uniform01(r[1]), 2*math.Pi*Uniform01(r[3])
		v := [4]float64{r0 * math.Cos(t0), r0 * math.Sin(t0), r1 * math.Cos(t1), r1 * math.Sin(t1)}
		for k := 0; k < 4 && 4*q+k < count; k++ {
			z[4*q+k] = v[k]
		}
	}
	return z
}

// DropoutMask is the twin of shaders/dropout.comp: per element 1/(1−p) when
// kept, 0 when dropped, at (seed, step, stream).
func DropoutMask(count int, p float64, seed uint64, step, stream uint32) []float64 {
	mask := make([]float64, count)
	for q := 0; 4*q < count; q++ {
		r := Philox([4]uint32{uint32(q), stream, step, 0}, key(seed))
		for k := 0; k < 4 && 4*q+k < count; k++ {
			if Uniform01(r[k]) > p {
				mask[4*q+k] = 1 / (1 - p)
			}
		}
	}
	return mask
}
