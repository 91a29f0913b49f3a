// Command allreduce measures what a data-parallel step's averaging over
// the ranks costs in MPI alone: for each preset at its default size (batch
// 64, 2 G updates a step) it runs the step's Sums (gan.TrainConfig's
// AllreduceFloats: the discriminator's gradients, the generator's per
// update, and the losses with the running statistics) reps times and
// prints, on rank 0, the median per step. Run it under mpirun:
//
//	mpirun -np 2 go run ./bench/allreduce        # or a built binary
//	mpirun -np 2 --mca btl self,tcp ./allreduce  # over TCP loopback, not shared memory
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/mpi"
)

func main() {
	reps := flag.Int("reps", 20, "steps to time per preset")
	flag.Parse()
	if err := run(*reps); err != nil {
		fmt.Fprintln(os.Stderr, "allreduce:", err)
		os.Exit(1)
	}
}

func run(reps int) error {
	if _, ok := mpi.Detect(); !ok {
		return fmt.Errorf("run me under mpirun (mpirun -np 2 …)")
	}
	w, err := mpi.Init()
	if err != nil {
		return err
	}
	defer w.Close()
	for _, p := range []struct {
		preset   string
		channels int
	}{{"dcgan28", 1}, {"dcgan64", 3}} {
		m, err := gan.DefaultModel(p.preset, p.channels)
		if err != nil {
			return err
		}
		cfg := gan.TrainConfig{Model: m, Batch: 64, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1}
		sizes := cfg.AllreduceFloats()
		bufs := make([][]float32, len(sizes))
		total := 0
		for i, n := range sizes {
			bufs[i] = make([]float32, n)
			for j := range bufs[i] {
				bufs[i][j] = float32(j%97) * 1e-3
			}
			total += n
		}
		var times []time.Duration
		for rep := range reps + 2 { // two to warm up
			if err := w.Barrier(); err != nil {
				return err
			}
			start := time.Now()
			for _, b := range bufs {
				if err := w.SumFloat32(b); err != nil {
					return err
				}
			}
			if rep >= 2 {
				times = append(times, time.Since(start))
			}
		}
		slices.Sort(times)
		med := times[len(times)/2]
		if w.Rank == 0 {
			fmt.Printf("%s: %d ranks, %d Sums a step, %d floats (%.1f MB): median %.2f ms a step (min %.2f, max %.2f), %.2f GB/s of the step's bytes\n",
				p.preset, w.Size, len(sizes), total, float64(4*total)/1e6, ms(med), ms(times[0]), ms(times[len(times)-1]),
				float64(4*total)/med.Seconds()/1e9)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
