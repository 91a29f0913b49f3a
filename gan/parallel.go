package gan

import (
	"fmt"
	"hash/crc32"
	"time"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// CheckRanks reports a configuration that cannot be trained on this many
// ranks: the batch must divide among them, and each rank's rows of the
// batch's z and dropout masks start at a multiple of 4 floats (Philox
// draws four at a time).
func CheckRanks(cfg TrainConfig, ranks int) error {
	if ranks <= 1 {
		return nil
	}
	if cfg.Batch%ranks != 0 {
		return fmt.Errorf("batch %d does not divide among %d processes: give --batch a multiple of %d", cfg.Batch, ranks, ranks)
	}
	n := cfg.Batch / ranks
	if n*cfg.Model.Z%4 != 0 {
		return fmt.Errorf("%d processes take %d samples each, whose z (%d floats each) is not a multiple of 4 floats; give --batch a multiple of %d",
			ranks, n, cfg.Model.Z, 4*ranks)
	}
	for _, l := range cfg.Model.discriminator().Layers {
		if l.Kind == nn.Dropout && n*l.OutCount()%4 != 0 {
			return fmt.Errorf("%d processes take %d samples each, whose dropout masks are not a multiple of 4 floats; give --batch a multiple of %d",
				ranks, n, 4*ranks)
		}
	}
	return nil
}

// AllreduceFloats is how many floats a data-parallel step averages over
// the ranks, per update in step order (the discriminator's gradients, then
// the generator's for each of its updates) and last the losses and both
// networks' batch-norm running statistics: the tensors themselves, without
// the device's alignment padding between them that the trainer's Sums
// carry too.
func (c TrainConfig) AllreduceFloats() []int {
	g, gRunning := c.Model.generator().Counts()
	d, dRunning := c.Model.discriminator().Counts()
	var out []int
	for range c.DUpdates() {
		out = append(out, d)
	}
	for range c.GSteps {
		out = append(out, g)
	}
	return append(out, layers.LossStats*masks+gRunning+dRunning)
}

// hostSpan is where a device buffer's first floats sit in a host buffer.
type hostSpan struct {
	buf         *vk.Buffer
	off, floats int
}

// Rows are the rows [lo, hi) of each global batch the trainer trains: all
// of them alone, its share in a data-parallel run.
func (t *Trainer) Rows() (lo, hi int) { return t.ranks.Rank * t.n, (t.ranks.Rank + 1) * t.n }

// ReduceTime is the time the last step spent averaging over the ranks
// (Sum, and the copies to and from the device around it); 0 alone.
func (t *Trainer) ReduceTime() time.Duration { return t.reduceTime }

// averageGrads replaces network n's gradients with their mean over the
// ranks, through the host: one Sum of the whole gradient store.
func (t *Trainer) averageGrads(n netID) error {
	start := time.Now()
	defer func() { t.reduceTime += time.Since(start) }()
	p, v := t.params(n), t.host[n]
	if err := p.Grad.Download(0, vk.Float32Bytes(v)); err != nil {
		return err
	}
	if err := t.mean(v); err != nil {
		return err
	}
	return p.Grad.Upload(0, vk.Float32Bytes(v))
}

// mean replaces v with its mean over the ranks: the sum, times 1/Size in
// float32 (exact for a power of two), the same bits on every rank.
func (t *Trainer) mean(v []float32) error {
	if err := t.ranks.Sum(v); err != nil {
		return err
	}
	inv := 1 / float32(t.ranks.Size)
	for i := range v {
		v[i] *= inv
	}
	return nil
}

// stepStats reads the step's losses and probabilities. A data-parallel
// trainer averages them over the ranks (each rank's are its rows' means,
// so their mean is the global batch's), together with both networks'
// batch-norm running statistics, which each rank moved towards its own
// rows' statistics: averaged, the running means are those of the global
// batch (the update is linear), and every rank keeps the same bits.
func (t *Trainer) stepStats() ([]float32, error) {
	if t.ranks.Alone() {
		return nn.ReadFloats(t.stats, layers.LossStats*masks)
	}
	start := time.Now()
	defer func() { t.reduceTime += time.Since(start) }()
	v := t.stepHost
	for _, b := range t.stepBufs {
		if err := b.buf.Download(0, vk.Float32Bytes(v[b.off:b.off+b.floats])); err != nil {
			return nil, err
		}
	}
	if err := t.mean(v); err != nil {
		return nil, fmt.Errorf("averaging the losses and running statistics over the ranks: %w", err)
	}
	for _, b := range t.stepBufs[1:] { // the running statistics go back; the losses are returned
		if err := b.buf.Upload(0, vk.Float32Bytes(v[b.off:b.off+b.floats])); err != nil {
			return nil, err
		}
	}
	return v[:layers.LossStats*masks], nil
}

// Fingerprint is a CRC-32C of the trainer's replicated state: ranks of a
// data-parallel run that hold the same bits have the same fingerprint.
// Their devices compute the same bits when they are of one kind; devices of
// different kinds may round differently, and ShareState puts them right.
func (t *Trainer) Fingerprint() (uint32, error) {
	table := crc32.MakeTable(crc32.Castagnoli)
	var sum uint32
	for _, b := range t.replicated() {
		v := make([]byte, b.Size())
		if err := b.Download(0, v); err != nil {
			return 0, fmt.Errorf("gan: reading %s for its fingerprint: %w", b.Name(), err)
		}
		sum = crc32.Update(sum, table, v)
	}
	return sum, nil
}

// ShareState replaces every rank's replicated state with rank 0's:
// bcast gives every rank rank 0's bytes (MPI_Bcast from rank 0).
func (t *Trainer) ShareState(bcast func([]byte) error) error {
	for _, b := range t.replicated() {
		v := make([]byte, b.Size())
		if err := b.Download(0, v); err != nil {
			return fmt.Errorf("gan: reading %s: %w", b.Name(), err)
		}
		if err := bcast(v); err != nil {
			return fmt.Errorf("gan: giving every rank rank 0's %s: %w", b.Name(), err)
		}
		if err := b.Upload(0, v); err != nil {
			return fmt.Errorf("gan: writing %s: %w", b.Name(), err)
		}
	}
	t.emaCalibrated = false
	return t.weightsChanged()
}

// replicated is the trainer's state that steps change and every rank of a
// data-parallel run holds alike: both networks' parameters, Adam's moments
// and running statistics, and the EMA generator's parameters (its running
// statistics are calibrated from them when needed).
func (t *Trainer) replicated() []*vk.Buffer {
	var out []*vk.Buffer
	for _, b := range []*vk.Buffer{t.g.Val, t.g.M, t.g.V, t.g.Stats, t.d.Val, t.d.M, t.d.V, t.d.Stats} {
		if b != nil {
			out = append(out, b)
		}
	}
	if t.ema != nil {
		out = append(out, t.ema.Val)
	}
	return out
}
