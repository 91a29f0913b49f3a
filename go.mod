module github.com/gan-vk/gan-vk

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/vulkan-go/vulkan v0.0.0-20221209234627-c0a353ae26c8
	golang.org/x/image v0.48.0
)

require github.com/go-gl/glfw/v3.3/glfw v0.0.0-20260823155953-d41da22a9587

require gonum.org/v1/gonum v0.17.0

require google.golang.org/protobuf v1.36.12 // indirect
