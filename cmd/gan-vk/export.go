package main

import (
	"fmt"
	"io"

	"github.com/gan-vk/gan-vk/gan/onnx"
)

const exportSynopsis = `export --checkpoint RUN|FILE --onnx G.onnx [--weights ema|raw]

Writes a trained generator as an ONNX model that any ONNX runtime runs
(onnxruntime in Python, Node or a browser): input "z", batch × Z floats
drawn from N(0, 1); output "images", batch × C × S × S floats in [-1, 1]
(a pixel is round((v + 1) · 127.5)). A class-conditional generator also
takes "class", batch int64s, the class of each image; the model's metadata
class_names names them. The batch is free. The generator is
the EMA one when the run keeps it, as for gan-vk sample; batch norm runs in
inference mode with the checkpoint's running statistics, as sample's
--bn eval. Needs no device.`

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", exportSynopsis, stdout, stderr)
	ckpt := fs.String("checkpoint", "", "a checkpoint `file`, or a run folder (its newest checkpoint)")
	out := fs.String("onnx", "", "the ONNX `file` to write")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *ckpt == "":
		return &usageError{"--checkpoint is required: a checkpoint file or a run folder"}
	case *out == "":
		return &usageError{"--onnx is required: the model file to write, as generator.onnx"}
	}
	c, w, err := openGenerator(*ckpt, *weights)
	if err != nil {
		return err
	}
	st, err := c.State()
	if err != nil {
		return err
	}
	m, err := onnx.Generator(st.Config, st.Step, w, c)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Path, err)
	}
	if err := onnx.Write(*out, m); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	cfg := st.Config.Model
	class := ""
	if cfg.Conditional() {
		class = fmt.Sprintf(" and class [batch] (0 to %d)", cfg.Classes-1)
	}
	fmt.Fprintf(stdout, "wrote %s: the %s generator of %s (step %d), z [batch, %d]%s to images [batch, %d, %d, %d] in [-1, 1]\n",
		*out, w.For(st.Config), c.Path, st.Step, cfg.Z, class, cfg.Channels, cfg.Size(), cfg.Size())
	return nil
}
