// Runs an ONNX generator gan-vk exported on z's from a file, with
// onnxruntime-node, and writes the images it makes.
//
//   node run-generator.mjs MODEL.onnx Z.f32 N IMAGES.f32 [CLASSES]
//
// Z.f32 holds N·Z little-endian float32s (N rows of z); CLASSES, for a
// class-conditional generator, each image's class, comma-separated (one
// class: every image's); IMAGES.f32 gets the
// model's output, N·C·S·S float32s in [-1, 1], NCHW. The gan-vk export test
// (cmd/gan-vk TestExportONNX) compares them with gan-vk sample's PNG.
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, zPath, nArg, outPath, classArg] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node run-generator.mjs MODEL.onnx Z.f32 N IMAGES.f32 [CLASSES]");
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
if (session.inputNames.includes("class")) {
  if (!classArg) {
    console.error(`${model} is class-conditional: give each image's class (CLASSES)`);
    process.exit(2);
  }
  let classes = classArg.split(",").map((c) => BigInt(c));
  if (classes.length === 1) classes = Array(n).fill(classes[0]);
  if (classes.length !== n) {
    console.error(`${classes.length} classes for ${n} images`);
    process.exit(1);
  }
  feeds.class = new ort.Tensor("int64", BigInt64Array.from(classes), [n]);
}
const out = (await session.run(feeds))[session.outputNames[0]];
writeFileSync(outPath, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
console.log(`${session.inputNames[0]} [${n}, ${z.length / n}] -> ${session.outputNames[0]} [${out.dims.join(", ")}] with onnxruntime-node ${ort.env.versions.node}`);
