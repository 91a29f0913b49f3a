// Package live is a run as a window sees it: the sample grid on the device,
// the curves and the numbers, fed by a training run (Live.Watch) or by
// following a run's files (Follow), with the window's requests carried out
// between steps.
//
// The files:
//
//	live.go    Live and its Snapshot; the z a viewer explores (new draws, slerp walks);
//	           the feed from a training run
//	follow.go  following a run folder or a checkpoint from its files, for gan-vk view
package live
