// Package viewer is the live GLFW window: a swapchain on the training device
// showing the sample grid and loss curves. It is the only package that
// imports GLFW.
package viewer
