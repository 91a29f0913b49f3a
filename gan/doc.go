// Package gan holds the DCGAN models as code, the trainer (recorded D and G
// steps), data sets, checkpoints, sample grids and metrics.
package gan
