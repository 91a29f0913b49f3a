// Package nn is what every user of a network shares: the layer and network
// specs with their state_dict names, MACs and profile names (Spec,
// Builder); the parameter store with its fill, load, read and
// running-statistics average (Store); the network's ops at one batch size,
// recorded forward and backward in a Mode (Net), with class-conditional
// layers that read each sample's class from it (class.go); Adam and the moving
// average over a store (Adam, EMA); the latent source (Latent);
// differentiable augmentation before a network (Augment); and the
// owner that builds device objects with one sticky error and closes them
// in reverse order (Owner).
//
// A trainer, a sampler, a batch-norm calibration, a feature network and a
// completion search are each a few of these put together. A new input to a
// network or a new op before it belongs here, once, not in each of them.
// nn imports layers and vk only.
package nn
