package gan

import (
	"github.com/gan-vk/gan-vk/gan/nn"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/layers/ref"
)

// refNet is a network composed from layers/ref in float64: the reference a
// whole training step on the device is held to.
type refNet struct {
	spec    nn.Spec
	p       [][][]float64 // per layer, per tensor (as nn.Store.Layers)
	m, v    [][][]float64
	running [][]float64 // per layer: BN mean then variance
	// Per spectrally normalised layer (nil for others): u, v, W/σ and σ.
	snU, snV, wsn [][]float64
	sigma         []float64
}

// weight is what layer i's passes use: W/σ with spectral norm.
func (r *refNet) weight(i int) []float64 {
	if r.wsn[i] != nil {
		return r.wsn[i]
	}
	return r.p[i][0]
}

// normalize makes layer i's W/σ from its weight, with a power iteration
// first when iterate (after an update), from the kept u and v when not
// (weights loaded).
func (r *refNet) normalize(i int, iterate bool) {
	rows, cols := r.spec.Layers[i].SNShape()
	r.wsn[i], r.sigma[i] = ref.SpectralNorm(r.p[i][0], r.snU[i], r.snV[i], rows, cols, iterate)
}

// refTrace is what a forward keeps for backward.
type refTrace struct {
	n         int
	train     bool        // batch norm on the batch's statistics; else eval mode
	ins, pres [][]float64 // each layer's input and value before its activation
	outs      [][]float64
	dropMasks [][]float64
}

func (r *refNet) geom(l nn.LayerSpec, n int) ref.Conv {
	return ref.Conv{N: n, C: l.C, H: l.H, W: l.W, K: l.K, KH: l.Size, KW: l.Size, Stride: l.Stride, Pad: l.Padding, OutPad: l.OutPad}
}

func biasOf(ps [][]float64) []float64 {
	if len(ps) > 1 {
		return ps[1]
	}
	return nil
}

// forward runs the network on x (n samples). mask gives layer i's dropout
// mask in training mode.
func (r *refNet) forward(x []float64, n int, train bool, mask func(i, count int) []float64) *refTrace {
	tr := &refTrace{n: n, train: train}
	in := x
	for i, l := range r.spec.Layers {
		ps := r.p[i]
		var pre []float64
		var m []float64
		switch l.Kind {
		case nn.Dense:
			pre = ref.Linear(in, r.weight(i), biasOf(ps), n, l.C, l.K)
		case nn.Conv:
			pre = ref.Conv2d(in, r.weight(i), biasOf(ps), r.geom(l, n))
		case nn.ConvT:
			pre = ref.ConvTranspose2d(in, r.weight(i), biasOf(ps), r.geom(l, n))
		case nn.BatchNorm:
			if train {
				var mean, unbiased []float64
				pre, mean, unbiased = ref.BatchNorm2d(in, ps[0], ps[1], n, l.K, l.OH*l.OW, 1e-5)
				rs := r.running[i]
				for c := 0; c < l.K; c++ {
					rs[c] = 0.9*rs[c] + 0.1*mean[c]
					rs[l.K+c] = 0.9*rs[l.K+c] + 0.1*unbiased[c]
				}
			} else {
				rs := r.running[i]
				pre = ref.BatchNorm2dEval(in, ps[0], ps[1], rs[:l.K], rs[l.K:], n, l.K, l.OH*l.OW, 1e-5)
			}
		case nn.Dropout:
			pre = append([]float64(nil), in...)
			if train {
				m = mask(i, len(in))
				for j := range pre {
					pre[j] *= m[j]
				}
			}
		}
		a, slope := ref.Act(l.Act.Act), float64(float32(l.Act.Slope))
		out := ref.Activate(a, slope, pre)
		tr.ins, tr.pres, tr.outs, tr.dropMasks = append(tr.ins, in), append(tr.pres, pre), append(tr.outs, out), append(tr.dropMasks, m)
		in = out
	}
	return tr
}

// backward returns ∂L/∂x and each tensor's gradient from dy = ∂L/∂output.
func (r *refNet) backward(tr *refTrace, dy []float64) (dx []float64, grads [][][]float64) {
	n := tr.n
	grads = make([][][]float64, len(r.spec.Layers))
	for i := len(r.spec.Layers) - 1; i >= 0; i-- {
		l, ps := r.spec.Layers[i], r.p[i]
		d := ref.ActivateBackward(ref.Act(l.Act.Act), float64(float32(l.Act.Slope)), tr.pres[i], dy)
		var gw, gb []float64
		switch l.Kind {
		case nn.Dense:
			dx, gw, gb = ref.LinearBackward(d, tr.ins[i], r.weight(i), n, l.C, l.K)
		case nn.Conv:
			dx, gw, gb = ref.Conv2dBackward(d, tr.ins[i], r.weight(i), r.geom(l, n))
		case nn.ConvT:
			dx, gw, gb = ref.ConvTranspose2dBackward(d, tr.ins[i], r.weight(i), r.geom(l, n))
		case nn.BatchNorm:
			if tr.train {
				dx, gw, gb = ref.BatchNorm2dBackward(d, tr.ins[i], ps[0], n, l.K, l.OH*l.OW, 1e-5)
			} else { // the input's gradient only
				dx = ref.BatchNorm2dEvalBackward(d, ps[0], r.running[i][l.K:], n, l.K, l.OH*l.OW, 1e-5)
			}
		case nn.Dropout:
			dx = append([]float64(nil), d...) // eval mode: the identity
			if tr.train {
				for j := range d {
					dx[j] *= tr.dropMasks[i][j]
				}
			}
		}
		switch len(ps) {
		case 1:
			grads[i] = [][]float64{gw}
		case 2:
			grads[i] = [][]float64{gw, gb}
		}
		dy = dx
	}
	return dx, grads
}

func addGrads(a, b [][][]float64) [][][]float64 {
	if a == nil {
		return b
	}
	for i := range a {
		for j := range a[i] {
			for k := range a[i][j] {
				a[i][j][k] += b[i][j][k]
			}
		}
	}
	return a
}

// adam steps every tensor at step t, a spectrally normalised weight from
// its gradient through W/σ, after which it takes a power iteration.
func (r *refNet) adam(grads [][][]float64, t int, lr, beta1 float64) {
	for i := range r.p {
		if r.wsn[i] != nil {
			grads[i][0] = ref.SpectralNormBackward(grads[i][0], r.wsn[i], r.snU[i], r.snV[i], r.sigma[i])
		}
		for j := range r.p[i] {
			ref.Adam(r.p[i][j], grads[i][j], r.m[i][j], r.v[i][j], t, lr, beta1, 0.999, 1e-8)
		}
		if r.wsn[i] != nil {
			r.normalize(i, true)
		}
	}
}

// refTrainer is Trainer's algorithm in float64.
type refTrainer struct {
	cfg  TrainConfig
	g, d *refNet
	ema  *refNet // the EMA generator's weights, with cfg.EMA
	step int
}

// refStep runs one training step on a real batch and returns its stats.
func (rt *refTrainer) refStep(reals ...[]float64) Stats { return rt.refParallelStep(reals, 1) }

// refParallelStep is the step of a data-parallel run over ranks: each rank
// trains its rows of the batch, z and dropout masks (with its own batch
// statistics and running statistics), each update's gradients are the
// ranks' mean, and after the step the running statistics and the stats are
// too. With one rank it is the step alone.
func (rt *refTrainer) refParallelStep(reals [][]float64, ranks int) Stats {
	cfg := rt.cfg
	n := cfg.Batch / ranks
	rt.step++
	k := rt.step
	maskAt := func(step int, p pass, rank int) func(i, count int) []float64 {
		return func(i, count int) []float64 { // count: the rank's
			m := ref.DropoutMask(count*ranks, float64(float32(cfg.Model.Dropout)), cfg.Seed, uint32(step), uint32(nn.DropStream(masks, i, int(p))))
			return m[rank*count : (rank+1)*count]
		}
	}
	size, ch := cfg.Model.Size(), cfg.Model.Channels
	// augment is a rank's rows x of pass p at a clock step augmented, and
	// the draws (nil without augmentation).
	augment := func(x []float64, step int, p pass, rank int) ([]float64, []ref.AugmentDraw) {
		if cfg.Augment == 0 {
			return x, nil
		}
		draws := make([]ref.AugmentDraw, n)
		for i := range draws {
			draws[i] = ref.DrawAugment(uint32(cfg.Augment), cfg.AugmentP, size, size, cfg.Seed, uint32(step), uint32(p), rank*n+i)
		}
		return ref.Augment(x, n, ch, size, size, draws), draws
	}
	rows := func(v []float64, rank int) []float64 {
		per := len(v) / ranks
		return v[rank*per : (rank+1)*per]
	}
	// Each rank moves its own copy of the running statistics.
	running := func(r *refNet) [][][]float64 {
		out := make([][][]float64, ranks)
		for rank := range out {
			for _, rs := range r.running {
				out[rank] = append(out[rank], append([]float64(nil), rs...))
			}
		}
		return out
	}
	gRunning, dRunning := running(rt.g), running(rt.d)
	on := func(rank int) { rt.g.running, rt.d.running = gRunning[rank], dRunning[rank] }
	mean := func(sum []float64) {
		for i := range sum {
			sum[i] /= float64(ranks)
		}
	}
	var st [7]float64 // DReal, DX, DFake, DGZ, G, DGZAfter, RT summed over the ranks
	var z []float64   // the last D update's, which the G updates use
	// dUpdate is one D update on a real batch with z, at D's clock step k.
	dUpdate := func(real, z []float64, k int) {
		gtrs := make([]*refTrace, ranks)
		for rank := range ranks {
			on(rank)
			gtrs[rank] = rt.g.forward(rows(z, rank), n, true, nil)
		}
		var dGrads [][][]float64
		for rank := range ranks {
			on(rank)
			fake := gtrs[rank].outs[len(gtrs[rank].outs)-1]
			for _, p := range []struct {
				x      []float64
				target float64
				pass   pass
				slot   int
			}{{rows(real, rank), 1, passReal, 0}, {fake, 0, passFake, 2}} {
				x, _ := augment(p.x, k, p.pass, rank)
				tr := rt.d.forward(x, n, true, maskAt(k, p.pass, rank))
				loss, dlogit, prob := refLoss(cfg.Loss, tr.outs[len(tr.outs)-1], p.pass)
				st[p.slot] += loss
				st[p.slot+1] += prob
				if p.pass == passReal {
					st[6] += ref.MeanSign(tr.outs[len(tr.outs)-1])
				}
				_, g := rt.d.backward(tr, dlogit)
				dGrads = addGrads(dGrads, g)
			}
		}
		rt.d.adam(meanGrads(dGrads, ranks), k, float64(cfg.lr(disc)), float64(float32(cfg.Beta1)))
	}
	for dk, real := range reals {
		// D's clock ticks once per D update: DUpdates a step.
		k := (k-1)*cfg.DUpdates() + dk + 1
		st = [7]float64{} // the step reports its last D update's
		// The global batch's flips, each rank's rows of them.
		if cfg.Mirror {
			real = ref.Mirror(real, cfg.Batch, ch, size, size, cfg.Seed, uint32(k), 0, 0)
		}
		z = ref.Normal(cfg.Batch*cfg.Model.Z, cfg.Seed, uint32(k), 0)
		for i := range z { // the device stores z as float32
			z[i] = float64(float32(z[i]))
		}
		dUpdate(real, z, k)
	}
	for j := 0; j < cfg.GSteps; j++ {
		gk := (k-1)*cfg.GSteps + j + 1
		var gGrads [][][]float64
		st[4], st[5] = 0, 0
		for rank := range ranks {
			on(rank)
			gtr := rt.g.forward(rows(z, rank), n, true, nil)
			img, draws := augment(gtr.outs[len(gtr.outs)-1], gk, passG, rank)
			dtr := rt.d.forward(img, n, true, maskAt(gk, passG, rank))
			loss, dlogit, prob := refLoss(cfg.Loss, dtr.outs[len(dtr.outs)-1], passG)
			st[4] += loss
			st[5] += prob
			dimg, _ := rt.d.backward(dtr, dlogit)
			if draws != nil {
				dimg = ref.AugmentBackward(dimg, n, ch, size, size, draws)
			}
			_, g := rt.g.backward(gtr, dimg)
			gGrads = addGrads(gGrads, g)
		}
		rt.g.adam(meanGrads(gGrads, ranks), gk, float64(cfg.lr(gen)), float64(float32(cfg.Beta1)))
		if rt.ema != nil {
			for i := range rt.ema.p {
				for j := range rt.ema.p[i] {
					ref.EMA(rt.ema.p[i][j], rt.g.p[i][j], gk, float64(cfg.EMA), float64(float32(emaRampup)))
				}
			}
		}
	}
	for _, r := range []struct {
		net   *refNet
		ranks [][][]float64
	}{{rt.g, gRunning}, {rt.d, dRunning}} {
		r.net.running = r.ranks[0]
		for i, rs := range r.net.running {
			for rank := 1; rank < ranks; rank++ {
				for c := range rs {
					rs[c] += r.ranks[rank][i][c]
				}
			}
			mean(rs)
		}
	}
	mean(st[:])
	out := Stats{DReal: float32(st[0]), DX: float32(st[1]), DFake: float32(st[2]), DGZ: float32(st[3]), G: float32(st[4]), DGZAfter: float32(st[5])}
	if cfg.Augment != 0 {
		out.AugmentP, out.RT = cfg.AugmentP, float32(st[6])
	}
	return out
}

// refLoss is pass p's loss term on the discriminator's logits.
func refLoss(kind layers.LossKind, logit []float64, p pass) (loss float64, dlogit []float64, meanProb float64) {
	if kind == layers.Hinge {
		return ref.Hinge(logit, int(p)) // passReal, passFake and passG are the roles' order
	}
	target := 1.0
	if p == passFake {
		target = 0
	}
	return ref.BCEWithLogits(logit, target)
}

// meanGrads divides gradients summed over the ranks by their count.
func meanGrads(g [][][]float64, ranks int) [][][]float64 {
	for i := range g {
		for j := range g[i] {
			for k := range g[i][j] {
				g[i][j][k] /= float64(ranks)
			}
		}
	}
	return g
}

// calibrated is the running statistics the calibration computes for the
// network's weights: each batch norm's batch mean and unbiased variance,
// averaged over the calibration's batches of z.
func (r *refNet) calibrated(m ModelConfig, seed uint64) [][]float64 {
	out := make([][]float64, len(r.spec.Layers))
	for pass := range calibPasses {
		z := ref.Normal(calibBatch*m.Z, seed, uint32(pass), calibStream)
		for i := range z {
			z[i] = float64(float32(z[i]))
		}
		tr := r.forward(z, calibBatch, true, nil)
		for i, l := range r.spec.Layers {
			if l.Kind != nn.BatchNorm {
				continue
			}
			_, mean, unbiased := ref.BatchNorm2d(tr.ins[i], r.p[i][0], r.p[i][1], calibBatch, l.K, l.OH*l.OW, 1e-5)
			if out[i] == nil {
				out[i] = make([]float64, 2*l.K)
			}
			for c := range l.K {
				out[i][c] += mean[c] / calibPasses
				out[i][l.K+c] += unbiased[c] / calibPasses
			}
		}
	}
	return out
}
