package mpi

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/mpi/mpitest"
)

// TestMPI starts this test binary under mpirun with 2 ranks (TestRanks
// below does the work in each) and checks that both finished.
func TestMPI(t *testing.T) {
	if mpitest.Child() {
		t.Skip("a rank of TestMPI's run")
	}
	out := mpitest.Run(t, 2, "^TestRanks$")
	for r := 0; r < 2; r++ {
		if want := fmt.Sprintf("rank %d of 2: ok", r); !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

// TestRanks is one rank of TestMPI's run: the launch it detects, the sum
// and the maximum over the ranks, a broadcast and a barrier.
func TestRanks(t *testing.T) {
	if !mpitest.Child() {
		t.Skip("runs under mpirun, started by TestMPI")
	}
	l, ok := Detect()
	if !ok || l.Size != 2 {
		t.Fatalf("Detect = %+v, %v; want 2 ranks", l, ok)
	}
	w, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Size != 2 || w.Rank != l.Rank {
		t.Fatalf("MPI says rank %d of %d, the environment %d of %d", w.Rank, w.Size, l.Rank, l.Size)
	}
	v := []float32{float32(w.Rank + 1), 0.5, float32(10 * w.Rank)}
	if err := w.SumFloat32(v); err != nil {
		t.Fatal(err)
	}
	if v[0] != 3 || v[1] != 1 || v[2] != 10 {
		t.Errorf("the sum is %v, want [3 1 10]", v)
	}
	m := []int32{int32(w.Rank), int32(-w.Rank)}
	if err := w.MaxInt32(m); err != nil {
		t.Fatal(err)
	}
	if m[0] != 1 || m[1] != 0 {
		t.Errorf("the maximum is %v, want [1 0]", m)
	}
	b := []byte("from rank ?")
	if w.Rank == 0 {
		b = []byte("from rank 0")
	}
	if err := w.BcastBytes(b, 0); err != nil {
		t.Fatal(err)
	}
	if string(b) != "from rank 0" {
		t.Errorf("the broadcast gave %q", b)
	}
	if err := w.Barrier(); err != nil {
		t.Fatal(err)
	}
	if !t.Failed() {
		fmt.Printf("rank %d of %d: ok\n", w.Rank, w.Size)
	}
}

// Without mpirun, Detect says so.
func TestDetectAlone(t *testing.T) {
	if mpitest.Child() {
		t.Skip("a rank of TestMPI's run")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "")
	if l, ok := Detect(); ok || l.Size != 1 {
		t.Errorf("Detect alone = %+v, %v", l, ok)
	}
}

// A missing library is ErrMissing, with what to install.
func TestMissingLibrary(t *testing.T) {
	if mpitest.Child() {
		t.Skip("a rank of TestMPI's run")
	}
	_, err := initFrom([]string{"libgan-vk-no-such-mpi.so"})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "apt-get install openmpi-bin") {
		t.Errorf("a missing library: %v", err)
	}
}
