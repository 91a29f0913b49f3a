// Package gan holds the DCGAN models as code, the trainer (recorded D and G
// steps), data sets, checkpoints, sample grids and the run loop.
//
//   - model.go: the presets (dcgan64, dcgan28) as layer lists that also
//     number their layers as PyTorch's nn.Sequential would, so parameter
//     names are state_dict names.
//   - params.go, net.go: a network's parameters (with gradients and Adam's
//     moments) on the device, and its ops at one batch size over them;
//     forward and backward record into a vk.Sequence.
//   - trainer.go: Trainer records the discriminator's and the generator's
//     update once and replays them. z, dropout masks and Adam's step come
//     from clocks on the device, so a step needs nothing from the host but
//     the real batch.
//   - data.go, idx.go: IDX files and image folders (decoded once into a
//     cache), and Loader, whose batch depends only on its step.
//   - checkpoint.go: safetensors checkpoints, written atomically, read with
//     every name, shape and dtype checked.
//   - sample.go: Sampler (the generator in eval mode on its own z) and
//     sample grids.
//   - run.go: Run, a training run in its folder: config.json,
//     metrics.jsonl, samples/, checkpoints/, resume and interruption.
//
// The tests hold whole steps to a float64 trainer composed from layers/ref
// (ref_test.go, step_test.go) and to PyTorch (golden_test.go).
package gan
