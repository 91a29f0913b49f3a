package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/mpi"
	"github.com/gan-vk/gan-vk/vk"
)

// ranks is this process's place in a data-parallel run that mpirun
// started (mpirun -np N gan-vk train …): gan.Ranks over MPI, and how
// mpirun launched it. The zero ranks is a run alone, and every method
// answers as the only rank would.
type ranks struct {
	gan.Ranks
	w      *mpi.World
	launch mpi.Launch
}

// joinRanks initialises MPI when mpirun started this process; alone it
// returns the zero ranks and needs no MPI library.
func joinRanks() (ranks, error) {
	l, ok := mpi.Detect()
	if !ok {
		return ranks{}, nil
	}
	w, err := mpi.Init()
	if err != nil {
		if l.LocalRank != 0 { // the machine's processes fail alike: its first says so
			return ranks{}, gan.ErrAnotherRank
		}
		return ranks{}, fmt.Errorf("mpirun started gan-vk, but %w", err)
	}
	return ranks{w: w, launch: l, Ranks: gan.Ranks{Rank: w.Rank, Size: w.Size, Sum: w.SumFloat32, Max: w.MaxInt32,
		Bcast: func(b []byte) error { return w.BcastBytes(b, 0) }}}, nil
}

// mpirun reports whether mpirun started this process (-np 1 included).
func (r ranks) mpirun() bool { return r.launch.Size > 0 }

// close finalises MPI.
func (r ranks) close() {
	if r.w != nil {
		r.w.Close()
	}
}

// parallelConfig reports a run configuration that cannot train on this
// many processes, as a usage error.
func parallelConfig(cfg run.Config, resume bool, dir string, ranks int) error {
	if err := gan.CheckRanks(cfg.Train, ranks); err != nil {
		return &usageError{err.Error()}
	}
	if resume {
		return cfg.CheckRanks(program(), dir, ranks)
	}
	return nil
}

// startup is what every rank of a run must be given alike: the run's
// configuration and the folder flags.
type startup struct {
	Config run.Config `json:"config"`
	Run    string     `json:"run"`
	Resume string     `json:"resume"`
	Dir    string     `json:"-"` // rank 0's, which the others take (a new folder's name is random)
}

// agreeOnRun checks that every rank was started for the same run, and that
// the run can train on this many ranks, and returns rank 0's run folder.
// A rank started otherwise says what differs.
func (r ranks) agreeOnRun(s startup) (string, error) {
	if !r.mpirun() {
		return s.Dir, nil
	}
	mine, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	lead, err := r.Share(append([]byte(s.Dir+"\n"), mine...))
	if err != nil {
		return "", err
	}
	dir, theirs, _ := strings.Cut(string(lead), "\n")
	var diff error
	if d := jsonDiff(mine, []byte(theirs)); d != "" {
		diff = &usageError{fmt.Sprintf("rank %d was started for another run than rank 0 (%s); start every rank with the same flags", r.Rank, d)}
	}
	if err := r.Agreed(diff); err != nil {
		return "", err
	}
	return dir, r.Agreed(r.LeadSays(parallelConfig(s.Config, s.Resume != "", dir, r.Count())))
}

// jsonDiff names the fields where two JSON objects differ, with both
// values: "config.train.batch is 32 here, 64 on rank 0".
func jsonDiff(mine, theirs []byte) string {
	var a, b any
	if json.Unmarshal(mine, &a) != nil || json.Unmarshal(theirs, &b) != nil {
		return "unreadable configurations"
	}
	var out []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok {
			keys := map[string]bool{}
			for k := range am {
				keys[k] = true
			}
			for k := range bm {
				keys[k] = true
			}
			names := make([]string, 0, len(keys))
			for k := range keys {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				walk(strings.TrimPrefix(path+"."+k, "."), am[k], bm[k])
			}
			return
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, fmt.Sprintf("%s is %s here, %s on rank 0", path, jsonValue(a), jsonValue(b)))
		}
	}
	walk("", a, b)
	return strings.Join(out, "; ")
}

func jsonValue(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// shareKernels gives every rank rank 0's kernel plan, so that every rank
// sums in the same order and their parameters stay the same bits.
func (r ranks) shareKernels(cfg *gan.TrainConfig) error {
	if r.Alone() {
		return nil
	}
	b, err := json.Marshal(cfg.Kernels)
	if err != nil {
		return err
	}
	if b, err = r.Share(b); err != nil {
		return err
	}
	return json.Unmarshal(b, &cfg.Kernels)
}

// deviceFor is the --device selector of this process: the flag's entry
// for this local rank (a comma-separated list has one per process on the
// machine, a single entry is every rank's), or else the local rank's
// device of the best kind there is, shared round-robin when the machine
// has fewer than processes.
func (r ranks) deviceFor(flag string) (string, error) {
	if !r.mpirun() {
		return flag, nil
	}
	l := r.launch
	if flag != "" {
		list := strings.Split(flag, ",")
		switch {
		case len(list) == 1:
			return flag, nil
		case len(list) != l.LocalSize:
			return "", &usageError{fmt.Sprintf("--device %q lists %d devices for the %d processes on this machine: give one per process, or one for all", flag, len(list), l.LocalSize)}
		}
		return strings.TrimSpace(list[l.LocalRank]), nil
	}
	infos, err := vk.Devices(vk.Options{})
	if err != nil {
		return "", nil // opening the device says what is wrong
	}
	best := slices.IndexFunc(infos, func(d vk.DeviceInfo) bool { return d.Picked })
	var same []int
	for _, d := range infos {
		if best >= 0 && d.Problem == "" && d.Type == infos[best].Type {
			same = append(same, d.Index)
		}
	}
	if len(same) == 0 {
		return "", nil
	}
	return strconv.Itoa(same[l.LocalRank%len(same)]), nil
}

// killTimeout is the note rank 0 gives when mpirun would kill the ranks
// too soon after a Ctrl-C or SIGTERM for the step to end in a checkpoint:
// mpirun sends its processes SIGTERM odls_base_sigkill_timeout seconds
// (1 by default) after it is told to stop, and SIGKILL as long after that.
func (r ranks) killTimeout() string {
	if !r.mpirun() {
		return ""
	}
	s, err := strconv.Atoi(os.Getenv("OMPI_MCA_odls_base_sigkill_timeout"))
	if err != nil {
		s = 1
	}
	if s >= 10 {
		return ""
	}
	return fmt.Sprintf("note: mpirun kills its processes %d s after it passes on a Ctrl-C or SIGTERM, which may be too soon for the step's checkpoint; "+
		"start it with --mca odls_base_sigkill_timeout 30 to stop cleanly (the checkpoints every --checkpoint-every steps keep the run meanwhile)", s)
}

// endRank reports the error a data-parallel rank ends on, before MPI is
// finalised (which waits for every rank), so that no rank's exit can end
// the run before the line is out; every rank but 0 names itself. An error
// that left the others waiting for this rank (run.Stranded) then ends the
// whole run (MPI_Abort), whose processes mpirun stops.
func (r ranks) endRank(err error, stderr io.Writer) error {
	if r.Alone() || err == nil {
		return err
	}
	if errors.Is(err, gan.ErrAnotherRank) {
		return err
	}
	if !r.Lead() {
		err = fmt.Errorf("rank %d: %w", r.Rank, err)
	}
	code := report(stderr, "train", err)
	if run.Stranded(err) {
		r.w.Abort(1)
	}
	return exitCode(code)
}
