// The nudity shield's classifier, off the main thread (a classic worker: the vendored nsfwjs
// files are UMD scripts, loaded with importScripts from our own static URLs).
//
// Messages in:  {type: "load", scripts: [modelUrl, weightsUrl, bundleUrl], backend: "" | "webgl" | "cpu"}
//               {type: "classify", id, frame: ImageBitmap | ImageData}  (a bitmap is closed here)
// Messages out: {type: "ready", backend, loadMs, bitmaps} | {type: "failed", message}
//               {type: "result", id, scores: {className: probability}, ms, tensors} | {type: "error", id, message}
"use strict";

let classifier = null;

function tensorCount() {
  // TensorFlow.js keeps its engine on the global object; the bundle does not export tf itself.
  const engine = self._tfengine;
  return engine && typeof engine.memory === "function" ? engine.memory().numTensors : null;
}

function backendName() {
  const engine = self._tfengine;
  return engine ? engine.backendName : "unknown";
}

// WebGL drawn by the CPU (SwiftShader, llvmpipe: no GPU, or a blocked one) brings no GPU, and
// it runs in the browser's GPU process, which also draws the call's video. TensorFlow.js's own
// CPU kernels then serve better: in headless Chromium on an idle 2-core machine the model loaded
// in 4 s against 8 s, while a check took 1.4-3.3 s against 0.7-1.6 s.
function softwareWebGL() {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2") || new OffscreenCanvas(1, 1).getContext("webgl");
    if (!gl) return true;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return true;
  }
}

function chooseBackend(pinned) {
  if (pinned) return pinned;
  return typeof OffscreenCanvas === "undefined" || softwareWebGL() ? "cpu" : "webgl";
}

async function load(scripts, pinnedBackend) {
  const started = performance.now();
  // model.min.js and the weight shard set the globals `model` and `group1_shard1of1`, which
  // nsfwjs.load("MobileNetV2") reads instead of fetching anything.
  importScripts(...scripts);
  // The bundle does not export tf; its engine is on the global object.
  const backend = chooseBackend(pinnedBackend);
  if (!(await self._tfengine.setBackend(backend))) throw new Error(`no ${backend} backend here`);
  classifier = await self.nsfwjs.load("MobileNetV2");
  return {
    type: "ready",
    backend: backendName(),
    loadMs: Math.round(performance.now() - started),
    // TensorFlow.js reads an ImageBitmap's pixels through an OffscreenCanvas; without one the
    // page sends ImageData instead.
    bitmaps: typeof OffscreenCanvas !== "undefined",
  };
}

async function classify(frame) {
  const started = performance.now();
  try {
    // classify() runs its own tf.tidy and disposes the logits; topk 5 returns every class.
    const predictions = await classifier.classify(frame, 5);
    const scores = {};
    for (const { className, probability } of predictions) scores[className] = probability;
    return { scores, ms: Math.round(performance.now() - started), tensors: tensorCount() };
  } finally {
    if (typeof frame.close === "function") frame.close();
  }
}

self.addEventListener("message", async (event) => {
  const message = event.data || {};
  if (message.type === "load") {
    try {
      self.postMessage(await load(message.scripts, message.backend));
    } catch (error) {
      self.postMessage({ type: "failed", message: String((error && error.message) || error) });
    }
  } else if (message.type === "classify") {
    try {
      if (!classifier) throw new Error("the model is not loaded");
      self.postMessage({ type: "result", id: message.id, ...(await classify(message.frame)) });
    } catch (error) {
      self.postMessage({ type: "error", id: message.id, message: String((error && error.message) || error) });
    }
  }
});
