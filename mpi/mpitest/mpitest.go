// Package mpitest runs a test's ranks under mpirun: the test binary starts
// itself again as each rank of a run, where Child is true and the rank's
// test (skipped otherwise) does the work.
package mpitest

import (
	"os"
	"os/exec"
	"testing"
)

// childEnv marks a process that mpirun started for a test.
const childEnv = "GAN_VK_MPI_CHILD"

// Child reports whether this test binary is a rank of a Run.
func Child() bool { return os.Getenv(childEnv) != "" }

// Run runs the tests matching pattern (a -test.run regexp) in this test
// binary under mpirun with ranks processes on this machine, with env added
// to each one's environment, and returns their output. A rank that fails
// fails t, with the output.
func Run(t testing.TB, ranks int, pattern string, env ...string) []byte {
	t.Helper()
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatal("mpirun is missing: ./build.sh deps installs Open MPI (openmpi-bin)")
	}
	cmd := exec.Command(mpirun, Args(ranks)...)
	cmd.Args = append(cmd.Args, os.Args[0], "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	return out
}

// Args are mpirun's arguments for ranks processes on this machine, whoever
// runs the tests (root in a container) and however many cores it has.
func Args(ranks int) []string {
	return []string{"--allow-run-as-root", "--oversubscribe", "-np", itoa(ranks)}
}

func itoa(n int) string {
	if n < 0 || n > 9 {
		panic("mpitest: ranks must be 0 to 9")
	}
	return string(rune('0' + n))
}
