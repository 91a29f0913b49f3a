package gan

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Ranks is this process's place among the ranks of a data-parallel run
// (one process each, as mpirun starts them), and the collective calls the
// ranks make together, which every rank must make in the same order. The
// zero Ranks is a run alone: each method answers as the only rank would,
// calling nothing, so code that runs alone or on ranks reads the same.
//
// A trainer on rank r of Size trains rows [r·B/Size, (r+1)·B/Size) of each
// global batch of B, drawing those rows' z and dropout masks of the global
// batch's draw, and averages each update's gradients over the ranks (Sum).
type Ranks struct {
	Rank, Size int
	Sum        func([]float32) error // over the ranks in place, the same bits on every rank (MPI_Allreduce)
	Max        func([]int32) error   // the maximum over the ranks, in place
	Bcast      func([]byte) error    // rank 0's bytes to every rank, in place
}

// ErrAnotherRank ends a rank whose reason to stop another rank reports:
// Agreed gives it to the ranks that had no error of their own when another
// had one. A rank that ends on it says nothing more, and exits 1.
var ErrAnotherRank = errors.New("another rank said why")

// Alone reports whether there are no other ranks.
func (r Ranks) Alone() bool { return r.Size <= 1 }

// Lead reports whether this is rank 0, the one that writes the run folder
// and talks to the user (a run alone is).
func (r Ranks) Lead() bool { return r.Rank == 0 }

// Count is the number of ranks, 1 alone.
func (r Ranks) Count() int { return max(r.Size, 1) }

// check reports ranks no trainer of cfg can take part in.
func (r Ranks) check(cfg TrainConfig) error {
	if r.Alone() {
		return nil
	}
	switch {
	case r.Sum == nil:
		return fmt.Errorf("a data-parallel trainer needs a Sum")
	case r.Rank < 0 || r.Rank >= r.Size:
		return fmt.Errorf("rank %d is not one of %d", r.Rank, r.Size)
	}
	return CheckRanks(cfg, r.Size)
}

// MaxOf sets v to its maximum over the ranks.
func (r Ranks) MaxOf(v []int32) error {
	if r.Alone() {
		return nil
	}
	return r.Max(v)
}

// Any reports whether any rank says yes.
func (r Ranks) Any(yes bool) (bool, error) {
	v := []int32{0}
	if yes {
		v[0] = 1
	}
	err := r.MaxOf(v)
	return v[0] != 0, err
}

// Same reports whether every rank holds the same v, and the smallest and
// largest they hold.
func (r Ranks) Same(v int32) (same bool, lo, hi int32, err error) {
	w := []int32{v, -v}
	if err := r.MaxOf(w); err != nil {
		return false, 0, 0, err
	}
	return w[0] == -w[1], -w[1], w[0], nil
}

// Agreed is where the ranks meet on an error any of them may have: each
// rank's own error, ErrAnotherRank for the ranks that had none when
// another did, nil when none did. Every rank's err must come from the same
// point.
func (r Ranks) Agreed(err error) error {
	bad, aerr := r.Any(err != nil)
	switch {
	case aerr != nil:
		return aerr
	case err != nil:
		return err
	case bad:
		return ErrAnotherRank
	}
	return nil
}

// LeadSays is err on rank 0 and nil on the others: for an error every rank
// would find alike, which rank 0 alone reports (with Agreed).
func (r Ranks) LeadSays(err error) error {
	if r.Lead() {
		return err
	}
	return nil
}

// Share gives every rank rank 0's bytes, whatever their length (b on the
// other ranks is not read).
func (r Ranks) Share(b []byte) ([]byte, error) {
	if r.Alone() {
		return b, nil
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	if err := r.Bcast(n[:]); err != nil {
		return nil, err
	}
	if !r.Lead() {
		b = make([]byte, binary.LittleEndian.Uint64(n[:]))
	}
	if len(b) == 0 {
		return b, nil
	}
	return b, r.Bcast(b)
}
