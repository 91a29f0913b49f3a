// Package data reads training images from IDX files and image folders and
// serves them as batches whose content depends only on the step, on the
// host: it opens no device.
//
// The files:
//
//	data.go  Open (an IDX file, a folder holding one, or a folder of JPEG and PNG images,
//	         decoded once into a cache), the crops, Loader, Probe
//	idx.go   ReadIDX and ReadIDXLabels: IDX images and labels files, raw or gzipped, checked
//	         against their header; the labels file beside an images file
//	convert.go  images served with another channel count (colour to luma, grey repeated)
//	classes.go  an image folder's classes: its subfolders, and each file's
package data
