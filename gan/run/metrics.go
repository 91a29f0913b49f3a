package run

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
)

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step         int     `json:"step"`
	Epoch        float64 `json:"epoch"`
	DLoss        float32 `json:"d_loss"`
	GLoss        float32 `json:"g_loss"`
	DX           float32 `json:"d_x"`
	DGZ          float32 `json:"d_g_z"`
	ImagesPerSec float64 `json:"images_per_sec"`
	MsPerStep    float64 `json:"ms_per_step"`
	// A data-parallel run's: the milliseconds of the step spent averaging
	// gradients, running statistics and losses over the ranks (the copies
	// to and from the device included).
	AllreduceMs float64 `json:"allreduce_ms,omitempty"`
	// A run that augments: the probability each transform applied with
	// (adapted with --augment-p auto), and ADA's r_t, the mean sign of D's
	// logits on the real batch. Absent without augmentation.
	AugmentP *float32 `json:"augment_p,omitempty"`
	RT       *float32 `json:"r_t,omitempty"`
	// On the steps --score-every scores (score.go): FD and KID of the EMA
	// generator and of the raw one against the run's data, and the
	// seconds scoring took.
	FD           float64 `json:"fd,omitempty"`
	FDRaw        float64 `json:"fd_raw,omitempty"`
	KID          float64 `json:"kid,omitempty"`
	KIDRaw       float64 `json:"kid_raw,omitempty"`
	ScoreSeconds float64 `json:"score_seconds,omitempty"`
}

// readMetrics reads the whole lines of a metrics.jsonl; a missing file has
// none, and reading stops at a line that does not parse (one being written).
func readMetrics(path string) ([]Metric, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ms, _ := ParseMetrics(b)
	return ms, nil
}

// ParseMetrics parses the whole lines of b and says how many bytes they took.
func ParseMetrics(b []byte) ([]Metric, int) {
	var out []Metric
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			return out, used
		}
		var m Metric
		if json.Unmarshal(b[used:used+i], &m) != nil {
			return out, used
		}
		out = append(out, m)
		used += i + 1
	}
}

// metricsFile appends lines to metrics.jsonl.
type metricsFile struct {
	f *os.File
}

// openMetrics opens metrics.jsonl for appending after step: lines of later
// steps (logged after the checkpoint a resume starts from, and about to be
// run again) and a partial last line are dropped.
func (r *Run) openMetrics(step int) (*metricsFile, error) {
	path := r.metricsPath()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		var m Metric
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Step > step {
			break
		}
		keep.Write(sc.Bytes())
		keep.WriteByte('\n')
	}
	if keep.Len() != len(old) {
		if err := os.WriteFile(path, keep.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsFile{f}, nil
}

func (m *metricsFile) add(v Metric) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = m.f.Write(append(b, '\n'))
	return err
}

func (m *metricsFile) Close() error { return m.f.Close() }
