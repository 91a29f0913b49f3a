// Package score measures how close generated images are to a data set:
// the Fréchet and kernel distances between their features, precision and
// recall, and for labelled data the Inception score's analogue and the
// class histogram. The features come from a network gan-vk trains on the
// data itself (a classifier, for labelled data) or draws with fixed random
// weights (unlabelled data); nothing is downloaded.
//
//	metrics.go    FD (gonum's symmetric eigensolver), KID, precision/recall, IS, histograms
//	features.go   the feature network: a classifier trained here on labelled data, or fixed
//	              random weights, built from gan/nn
//	reference.go  the reference of a data set: its feature network trained or calibrated on it, its features
//	cache.go      reading the reference back from its cache file
//	score.go      scoring images, a sampler's or a folder's, and printing it
//	classes.go    scoring a generator class by class: a conditional one's images drawn for each class
//	              (and the share the classifier puts in it), or an unconditional one's it puts there
package score
