// Package run trains a run in its folder: config.json, metrics.jsonl,
// sample grids and checkpoints, and the loop that steps a gan.Trainer and
// hands each step to its observers.
//
// The files:
//
//	run.go         Run and its Config, the loop (start, step, observers), the checkpointer, the
//	               errors that say what a failed write or a divergence left behind
//	metrics.go     Metric, one line of metrics.jsonl; appending after a resume, reading back
//	checkpoint.go  checkpoints: a trainer's state as safetensors with our metadata, read with
//	               every name, shape and dtype checked; the newest one that reads whole
//	score.go       --score-every: the observer that scores the EMA and raw generators
//	samples.go     a run's sample grids in step order, for the timelapse and the viewer
package run
