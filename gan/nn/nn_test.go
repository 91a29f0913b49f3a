package nn_test

import (
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// An owner keeps its first failure, builds nothing after it, and closes
// what it built: the device reports any object left alive when the test
// ends.
func TestOwner(t *testing.T) {
	d := vktest.Open(t)
	o := nn.NewOwner(d)
	a := o.Buffer("a", 4)
	s := o.Sequence("s")
	bad := o.Buffer("bad", 0)
	after, clock := o.Buffer("after", 4), o.Clock("after", 1)
	if a == nil || s == nil {
		t.Fatalf("built nothing before the failure: %v, %v (%v)", a, s, o.Err())
	}
	if bad != nil || after != nil || clock != nil {
		t.Errorf("after a failure the owner still built: %v, %v, %v", bad, after, clock)
	}
	if err := o.Err(); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("Err is %v, want the failing buffer's error", err)
	}
	if got := nn.NewStore(o, spec(), true); got != nil {
		t.Error("NewStore built after the owner failed")
	}
	o.Close()
	o.Close() // again: nothing left to close
}

func spec() nn.Spec {
	b := nn.NewBuilder("d", 1, 8, 8)
	b.Conv(2, 2, true, layers.LeakyReLU(0.2))
	b.Drop(0.5)
	b.Flatten()
	b.Linear(1, true, layers.Activation{})
	return b.Spec()
}

// A training-mode pass may only ask for a dropout mask its net was built
// with.
func TestNetMasks(t *testing.T) {
	d := vktest.Open(t)
	o := nn.NewOwner(d)
	defer o.Close()
	p := nn.NewStore(o, spec(), true)
	net := nn.NewNet(o, p, 4, nn.Options{Train: true, Masks: 2})
	x, s, clock := o.Buffer("x", 4*64), o.Sequence("s"), o.Clock("c", 1)
	if err := o.Err(); err != nil {
		t.Fatal(err)
	}
	net.Forward(s, x, nn.Mode{Train: true, Mask: 1, Clock: clock})
	net.Forward(s, x, nn.Eval)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "2 dropout masks") {
			t.Errorf("mask 2 of 2: %v, want a panic that names the net's masks", r)
		}
	}()
	net.Forward(s, x, nn.Mode{Train: true, Mask: 2, Clock: clock})
}

// Tensors gives a tensor by name and refuses another shape.
func TestTensors(t *testing.T) {
	ts := nn.Tensors{{Name: "w", Shape: []int{2}, F32: []float32{1, 2}}}
	if v, err := ts.Floats("w", []int{2}); err != nil || len(v) != 2 {
		t.Errorf("w: %v, %v", v, err)
	}
	if _, err := ts.Floats("w", []int{1, 2}); err == nil {
		t.Error("w as 1×2: no error")
	}
	if _, err := ts.Floats("b", []int{2}); err == nil {
		t.Error("b: no error")
	}
}
