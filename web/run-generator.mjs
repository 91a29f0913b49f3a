// Runs an ONNX generator gan-vk exported on z's from a file, with
// onnxruntime-node, and writes the images it makes.
//
//   node run-generator.mjs MODEL.onnx Z.f32 N IMAGES.f32
//
// Z.f32 holds N·Z little-endian float32s (N rows of z); IMAGES.f32 gets the
// model's output, N·C·S·S float32s in [-1, 1], NCHW. The gan-vk export test
// (cmd/gan-vk TestExportONNX) compares them with gan-vk sample's PNG.
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, zPath, nArg, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node run-generator.mjs MODEL.onnx Z.f32 N IMAGES.f32");
  process.exit(2);
}
const n = Number(nArg);
const bytes = readFileSync(zPath);
const z = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
if (z.length % n !== 0) {
  console.error(`${zPath} holds ${z.length} floats, not ${n} rows`);
  process.exit(1);
}
const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: "disabled" });
const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", z, [n, z.length / n]) };
const out = (await session.run(feeds))[session.outputNames[0]];
writeFileSync(outPath, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
console.log(`${session.inputNames[0]} [${n}, ${z.length / n}] -> ${session.outputNames[0]} [${out.dims.join(", ")}] with onnxruntime-node ${ort.env.versions.node}`);
