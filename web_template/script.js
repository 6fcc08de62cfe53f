// Edge AI Vision Studio web bundle: classifies camera frames and images entirely in the browser.
// The model takes raw RGB pixels (0..255, any size) and does its own preprocessing, exactly as in the
// studio, so this page only hands it tf.browser.fromPixels(...) and reads the probabilities back.
(() => {
  "use strict";

  const TOP_K = 5;
  const NOT_ONE_OF_SHOWN = 4;  // class names spelled out in "Not one of: ..." before "and N more"
  // Every backend that starts is timed on a few warm inferences at first load; the fastest is kept.
  const BACKENDS = ["wasm", "webgl", "cpu"];
  const WARM_RUNS = 2;
  const TIMED_RUNS = 5;
  // A backend whose run after the first (which may compile shaders) already takes LOSING_FACTOR x the best
  // median so far cannot win: its timing stops there. A pretrained model's page readied in 21 s -> 10 s on
  // a 2-core machine, where WebGL (software) and the CPU backend take ~1 s a frame against WASM's 75 ms.
  const LOSING_FACTOR = 4;
  // The model reads camera frames drawn down to FRAME_SCALE x its input size (short side, aspect kept), while
  // the preview keeps the camera's resolution: turning a whole 640x480 frame into a tensor costs ~8x the
  // model itself on WASM (bench/web_frame_cost.py). At 2x, the graph's bilinear resize (half-pixel centres)
  // averages 2x2 blocks of a frame the canvas has already smoothed: every camera pixel counts.
  const FRAME_SCALE = 2;
  const CHOICE_KEY = "edge-studio.backend";  // localStorage: the choice, per device and model
  const MS_HISTORY = 120;

  const $ = (id) => document.getElementById(id);
  const ui = {
    title: $("title"), labelsLine: $("labels-line"), statusDot: $("status-dot"), statusText: $("status-text"),
    alert: $("alert"), alertTitle: $("alert-title"), alertText: $("alert-text"), alertClose: $("alert-close"),
    tabCamera: $("tab-camera"), tabImage: $("tab-image"), stage: $("stage"), video: $("video"),
    picture: $("picture"), dropzone: $("dropzone"), overlay: $("overlay"),
    cameraToggle: $("camera-toggle"), cameraSelect: $("camera-select"), mirror: $("mirror"), file: $("file"),
    sourceBadge: $("source-badge"), topLabel: $("top-label"), topConfidence: $("top-confidence"), bars: $("bars"),
    ms: $("stat-ms"), fps: $("stat-fps"), backend: $("stat-backend"), model: $("stat-model"),
    dropTitle: $("drop-title"), dropHint: $("drop-hint"), modelFacts: $("model-facts"),
    backendNote: $("backend-note"), insecureNotice: $("insecure-notice"), loadProgress: $("load-progress"),
    whyLayer: $("why-layer"), whyToggle: $("why-toggle"), whyOpacity: $("why-opacity"),
    whyOpacityWrap: $("why-opacity-wrap"), whyNote: $("why-note"),
  };

  // Published for automation and tests: lastPrediction = {label, probabilities (label -> float),
  // source: "camera" | "image", ms, readMs, unsure, known_score, not_a_class}; ready/error after loading;
  // knownThreshold = below it the image is none of the classes; stats.ms = recent inference
  // times (the model, from the frame's pixels to probabilities), stats.readMs = the time to read those frames
  // into a tensor; backendChoice = {how: "measured" | "remembered" | "forced", ms: backend -> median ms per
  // frame (read + inference), inferenceMs: backend -> median ms per inference};
  // offline = "ready" once the service worker has cached the whole bundle; cameraFrame = {shown: [w, h],
  // read: [w, h]} while the camera runs (read: the frame size the model is given).
  const api = {
    ready: false, error: null, backend: null, loadMs: null, lastPrediction: null, predictions: 0,
    backendChoice: null, wasm: null, offline: null, unsureThreshold: 0, knownThreshold: null, quantization: null, cameraFrame: null,
    stats: { ms: [], readMs: [], fps: 0 },
    cspViolations: [], loadProgress: 0,
    numTensors: () => (window.tf ? tf.memory().numTensors : null),
  };
  window.edgeStudio = api;
  let shownKind = null;  // "camera" | "image" | null: where the prediction on show came from
  // True while a camera frame is being classified (its probabilities tensor is still alive).
  Object.defineProperty(api, "busy", { get: () => busy, enumerable: true });
  document.addEventListener("securitypolicyviolation", (e) => {
    api.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });

  let model = null;
  let meta = null;
  let labels = [];
  let stream = null;
  let frameCanvas = null;  // the camera frame drawn down for the model (see FRAME_SCALE)
  let looping = false;
  let busy = false;
  let frameTimes = [];
  let frameCallbacks = true;  // false once a camera's new-frame callbacks stay away: classify every repaint
  let cameraRun = 0;  // which start of the camera a scheduled step belongs to (a quick stop + start leaves one)
  let barRows = [];
  let pendingFile = null;  // a photo picked while the model loads: classified once it is ready

  // ----- status and messages ------------------------------------------------------------------------
  function setStatus(text, kind) {
    ui.statusText.textContent = text;
    ui.statusDot.className = "dot" + (kind ? " " + kind : "");
  }

  function showAlert(title, text) {
    ui.alertTitle.textContent = title;
    ui.alertText.textContent = text;
    ui.alert.hidden = false;
  }

  function hideAlert() { ui.alert.hidden = true; }

  // Loading in plain steps with a bar: fetching the weights is most of the wait on a slow line, trying the
  // engines (backends) on this device the rest. api.loadProgress mirrors the bar (0..100) for tests.
  function showLoading(percent, text) {
    api.loadProgress = Math.round(percent);
    ui.loadProgress.value = api.loadProgress;
    setStatus(text, "");
  }

  ui.alertClose.addEventListener("click", hideAlert);

  // ----- model ----------------------------------------------------------------------------------------
  // The model's outputs by name (metadata "outputs": probabilities, known_score, and whatever else is added),
  // never by position. A graph model hands back a tensor, an array in its outputNodes order (named by the
  // signature's keys, or by graph tensor names that the signature maps to its keys) or a name -> tensor map.
  function namedOutputs(net, result) {
    if (result instanceof tf.Tensor) return { probabilities: result };
    if (!Array.isArray(result)) return result;
    const keyOf = {};
    const sig = (net.signature && net.signature.outputs) || {};
    for (const [key, info] of Object.entries(sig)) keyOf[info.name] = key;
    const out = {};
    net.outputNodes.forEach((node, i) => {
      out[keyOf[node] || keyOf[`${node}:0`] || node.replace(/:0$/, "")] = result[i];
    });
    return out;
  }

  function outputTensor(net, result) {
    const named = namedOutputs(net, result);
    return named.probabilities || Object.values(named)[0];
  }

  // Whether the graph has a named output (model.json's signature).
  function hasOutput(net, name) {
    const signature = (net.modelSignature && net.modelSignature.outputs) || {};
    return Boolean(signature[name]);
  }

  // The graph's outputs by name (model.json's signature: output name -> graph node): only those asked for are
  // computed (the "Show why" heat costs nothing while it is off), and none is ever read by position.
  function runOutputs(net, input, names) {
    const signature = (net.modelSignature && net.modelSignature.outputs) || {};
    const nodes = names.map((n) => signature[n] && signature[n].name);
    if (nodes.some((n) => !n)) {
      if (names.length === 1) return [outputTensor(net, net.predict(input))];  // a graph without a signature
      throw new Error(`the model has no output named ${names.filter((n, i) => !nodes[i]).join(", ")}`);
    }
    const result = net.execute(input, nodes);
    return Array.isArray(result) ? result : [result];
  }

  // {probs, score, why, readMs}: the source read into a tensor (timed apart: for a camera frame this is mostly
  // the browser's work, not the model's), then the graph run on it; the caller awaits and disposes probs, score
  // (the known_score, null for a model without one) and why (the heat of every class, only while "Show why"
  // is on).
  function infer(net, source, withWhy) {
    const t0 = performance.now();
    const pixels = tf.browser.fromPixels(source instanceof HTMLVideoElement ? cameraFrame(source) : source);
    const readMs = performance.now() - t0;
    // Functional ops only: the split runtime (tfjs-core) does not register chained tensor methods.
    const names = [(meta && meta.output && meta.output.name) || "probabilities"];
    const withScore = hasOutput(net, "known_score");
    if (withScore) names.push("known_score");
    if (withWhy) names.push(whyOutput());
    const outputs = tf.tidy(() => runOutputs(net, tf.expandDims(tf.cast(pixels, "float32"), 0), names));
    pixels.dispose();
    const why = withWhy ? outputs[names.length - 1] : null;
    return { probs: outputs[0], score: withScore ? outputs[1] : null, why, readMs };
  }

  function configureWasm() {
    if (!tf.wasm) return;
    // The bundle carries only the SIMD binary (vendor/). Threads are never tried: TF.js 4.22 starts its
    // thread workers from blob: scripts, which this page's CSP refuses, so the threaded start would hang.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tf.wasm.setWasmPaths(new URL("vendor/", location.href).href);
  }

  async function startBackend(name) {
    if (!tf.findBackendFactory(name)) return false;
    try {
      // Without WebAssembly SIMD there is no binary to fetch: WebGL or the CPU backend runs instead.
      if (name === "wasm" && !(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) return false;
      if (!(await tf.setBackend(name))) return false;
      await tf.ready();
      return tf.getBackend() === name;
    } catch (err) {
      console.warn(`backend ${name} unavailable`, err);
      return false;
    }
  }

  const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

  // Median ms per frame (read + inference) and per inference alone; the frame time decides. ``best``: the best
  // median so far (Infinity for the first backend); a run past the first that is LOSING_FACTOR x slower
  // ends the timing with that run's time.
  async function timeBackend(artifacts, frame, best) {
    const net = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const frames = [];
    const inferences = [];
    for (let i = 0; i < WARM_RUNS + TIMED_RUNS; i++) {
      const t0 = performance.now();
      const { probs, score, readMs } = infer(net, frame);
      await probs.data();
      probs.dispose();
      if (score) score.dispose();
      const ms = performance.now() - t0;
      if (i > 0 && ms > LOSING_FACTOR * best) {
        return { net, ms, inferenceMs: ms - readMs };
      }
      if (i < WARM_RUNS) continue;
      frames.push(ms);
      inferences.push(ms - readMs);
    }
    return { net, ms: median(frames), inferenceMs: median(inferences) };
  }

  // Camera frames are read this size (4:3 at FRAME_SCALE x the input), so the backends are timed on it.
  function timingFrame() {
    const canvas = document.createElement("canvas");
    canvas.height = FRAME_SCALE * meta.preprocessing.image_size;
    canvas.width = Math.round(canvas.height * 4 / 3);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#808080";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function rememberedChoice(key) {
    try {
      const saved = JSON.parse(localStorage.getItem(CHOICE_KEY) || "null");
      return saved && saved.key === key ? saved : null;
    } catch (err) {
      return null;  // storage disabled (private mode) or damaged: measure again
    }
  }

  function remember(key, backend, ms, inferenceMs) {
    try {
      localStorage.setItem(CHOICE_KEY, JSON.stringify({ key, backend, ms, inferenceMs }));
    } catch (err) { /* storage disabled: the page measures again next time */ }
  }

  // Returns the loaded model on the chosen backend: ?backend=NAME forces one; otherwise the choice
  // remembered on this device for this model; otherwise every backend that starts is timed.
  async function chooseBackendAndLoad(artifacts) {
    const wanted = new URLSearchParams(location.search).get("backend");
    const key = `${(meta.files && meta.files[meta.model.path]) || meta.model.path}|${navigator.userAgent}`;
    const saved = wanted ? null : rememberedChoice(key);
    const preset = wanted || (saved && saved.backend);
    if (preset && await startBackend(preset)) {
      api.backendChoice = wanted ? { how: "forced", ms: {}, inferenceMs: {} }
        : { how: "remembered", ms: saved.ms || {}, inferenceMs: saved.inferenceMs || {} };
      return tf.loadGraphModel(tf.io.fromMemory(artifacts));
    }
    if (wanted) console.warn(`backend ${wanted} is not available here; choosing by measurement`);
    const frame = timingFrame();
    const timed = {};
    for (const [i, name] of BACKENDS.entries()) {
      showLoading(65 + 30 * i / BACKENDS.length, `Preparing the model on this device (${i + 1} of ${BACKENDS.length})…`);
      if (!(await startBackend(name))) continue;
      try {
        const best = Math.min(Infinity, ...Object.values(timed).map((t) => t.ms));
        timed[name] = await timeBackend(artifacts, frame, best);
      } catch (err) {
        console.warn(`backend ${name} failed the timing run`, err);
      }
    }
    const names = Object.keys(timed);
    if (names.length === 0) throw new Error("no TensorFlow.js backend could start (WebAssembly, WebGL or CPU)");
    const best = names.reduce((a, b) => (timed[b].ms < timed[a].ms ? b : a));
    names.filter((n) => n !== best).forEach((n) => timed[n].net.dispose());
    await startBackend(best);
    const ms = Object.fromEntries(names.map((n) => [n, timed[n].ms]));
    const inferenceMs = Object.fromEntries(names.map((n) => [n, timed[n].inferenceMs]));
    api.backendChoice = { how: "measured", ms, inferenceMs };
    remember(key, best, ms, inferenceMs);
    return timed[best].net;
  }

  async function describeWasm() {
    if (!tf.wasm) return null;
    const [simd, threads] = await Promise.all([tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
      tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")]);
    return { simd: !!simd, threads: threads ? tf.wasm.getThreadsCount() : 1 };
  }

  async function loadModel() {
    const t0 = performance.now();
    if (!window.tf || !tf.loadGraphModel) {
      throw new Error("the TensorFlow.js runtime (vendor/) did not load");
    }
    const response = await fetch("metadata.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`metadata.json: HTTP ${response.status}`);
    meta = await response.json();
    labels = meta.labels;
    api.unsureThreshold = (meta.unsure && Number(meta.unsure.threshold)) || 0;
    const known = meta.unsure && meta.unsure.known_score;
    api.knownThreshold = known && Number.isFinite(Number(known.threshold)) ? Number(known.threshold) : null;
    api.quantization = meta.model.quantization;
    describeModel();
    setupWhy();
    configureWasm();
    // Fetched once, then built on each backend timed (weights can be megabytes).
    showLoading(5, "Loading model…");
    const artifacts = await tf.io.http(meta.model.path, {
      onProgress: (fraction) => showLoading(5 + 60 * fraction, `Loading model… ${Math.round(100 * fraction)}%`),
    }).load();
    showLoading(65, "Preparing the model on this device…");
    model = await chooseBackendAndLoad(artifacts);
    api.backend = tf.getBackend();
    if (api.backend === "wasm") api.wasm = await describeWasm();
    // Warm-up: the first run compiles shaders/kernels; do it before the first real frame.
    const size = meta.preprocessing.image_size;
    const warm = tf.tidy(() => runOutputs(model, tf.zeros([1, size, size, 3]), [meta.output.name])[0]);
    await warm.data();
    warm.dispose();
    api.loadMs = performance.now() - t0;
  }

  function describeBackend() {
    ui.backend.textContent = api.backend;
    const choice = api.backendChoice || { how: "measured", ms: {} };
    const timings = Object.entries(choice.ms).map(([n, ms]) => `${n} ${ms.toFixed(1)} ms`).join(", ");
    const wasm = api.wasm ? ` (${api.wasm.simd ? "SIMD" : "no SIMD"}, ${api.wasm.threads} ` +
      `thread${api.wasm.threads === 1 ? "" : "s"})` : "";
    const why = {
      measured: `the fastest on this device (${timings} per frame)`,
      remembered: `measured fastest on this device earlier${timings ? ` (${timings})` : ""}`,
      forced: "chosen by ?backend= in the address",
    }[choice.how];
    ui.backend.title = `${api.backend}${wasm}: ${why}`;
    ui.backendNote.textContent = `Runs on ${api.backend}${wasm}: ${why}.`;
  }

  function describeModel() {
    const title = meta.title || ui.title.textContent;
    document.title = title;
    ui.title.textContent = title;
    ui.labelsLine.textContent = labels.join(", ");
    const acc = meta.metrics && meta.metrics.test_accuracy;
    const quant = meta.model.quantization === "none" ? "float32" : meta.model.quantization;
    ui.model.textContent = `${meta.model.architecture} · ${quant}`;
    ui.modelFacts.textContent = `Model: ${meta.model.architecture}, ${labels.length} labels, ` +
      `${meta.preprocessing.image_size}×${meta.preprocessing.image_size} ${meta.preprocessing.color}` +
      (typeof acc === "number" ? `, test accuracy ${(acc * 100).toFixed(1)}%.` : ".");
    buildBars();
  }

  // ----- prediction -----------------------------------------------------------------------------------
  async function classify(source, kind) {
    const t0 = performance.now();
    const { probs, score, why, readMs } = infer(model, source, whyShown());
    let values;
    let knownScore = null;
    let heat = null;
    try {
      values = await probs.data();
      if (score) knownScore = (await score.data())[0];
      if (why) heat = await why.data();
    } finally {
      probs.dispose();
      if (score) score.dispose();
      if (why) why.dispose();
    }
    const ms = performance.now() - t0 - readMs;
    const probabilities = {};
    let best = 0;
    labels.forEach((name, i) => {
      probabilities[name] = values[i];
      if (values[i] > values[best]) best = i;
    });
    const notAClass = isNotAClass(knownScore);
    const unsure = notAClass || values[best] < api.unsureThreshold;
    api.lastPrediction = { label: labels[best], probabilities, source: kind, ms, readMs, unsure,
      known_score: knownScore, not_a_class: notAClass };
    api.predictions += 1;
    for (const [series, value] of [[api.stats.ms, ms], [api.stats.readMs, readMs]]) {
      series.push(value);
      if (series.length > MS_HISTORY) series.shift();
    }
    render(values, kind, ms, readMs, notAClass);
    drawWhy(heat, best, kind, source);
    return api.lastPrediction;
  }

  // Python's rule (studio/core/evaluation/unsure.py): below the calibrated known score the image is none of
  // the classes.
  function isNotAClass(knownScore) {
    return knownScore !== null && api.knownThreshold !== null && knownScore < api.knownThreshold;
  }

  function notOneOf() {
    const shown = labels.slice(0, NOT_ONE_OF_SHOWN).join(", ");
    const more = labels.length - NOT_ONE_OF_SHOWN;
    return `Not one of: ${shown}${more > 0 ? ` and ${more} more` : ""}`;
  }

  function buildBars() {
    ui.bars.textContent = "";
    barRows = [];
    for (let i = 0; i < Math.min(TOP_K, labels.length); i++) {
      const li = document.createElement("li");
      li.className = "bar-row";
      const name = document.createElement("span");
      name.className = "bar-label";
      const track = document.createElement("span");
      track.className = "bar-track";
      const fill = document.createElement("span");
      fill.className = "bar-fill";
      track.appendChild(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      li.append(name, track, value);
      ui.bars.appendChild(li);
      barRows.push({ li, name, fill, value });
    }
  }

  function render(values, kind, ms, readMs, notAClass) {
    if (kind === "camera" && !looping) return;  // a frame that finishes after Stop camera is not shown
    shownKind = kind;
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
    const top = order[0];
    const unsure = notAClass || values[top] < api.unsureThreshold;
    ui.topLabel.textContent = notAClass ? notOneOf() : unsure ? "Not sure" : labels[top];
    ui.topLabel.classList.toggle("unsure", unsure);
    ui.topLabel.classList.toggle("not-a-class", !!notAClass);
    ui.topConfidence.textContent = notAClass
      ? `This looks like none of the things this model learned. Closest: ${labels[top]} ` +
        `(${(values[top] * 100).toFixed(1)}%)`
      : unsure
        ? `Best guess ${labels[top]} at ${(values[top] * 100).toFixed(1)}%, below the ` +
          `${(api.unsureThreshold * 100).toFixed(0)}% this model needs to be sure`
        : `${(values[top] * 100).toFixed(1)}% confidence`;
    barRows.forEach((row, rank) => {
      const i = order[rank];
      row.name.textContent = labels[i];
      row.name.title = labels[i];
      row.fill.style.width = `${Math.max(0, Math.min(100, values[i] * 100)).toFixed(1)}%`;
      row.value.textContent = `${(values[i] * 100).toFixed(1)}%`;
      row.li.classList.toggle("best", rank === 0);
    });
    ui.sourceBadge.hidden = false;
    ui.sourceBadge.textContent = kind === "camera" ? "Live camera" : "Image";
    ui.ms.textContent = `${ms.toFixed(1)} ms`;
    ui.ms.title = `The model's time. Reading the ${kind === "camera" ? "camera frame" : "image"} took ` +
      `${readMs.toFixed(1)} ms more.`;
  }

  // ----- show why -------------------------------------------------------------------------------------
  // The heat comes from the exported graph itself (metadata.json's why.output: per class, 0..1 at the model's
  // input size, the studio's own computation); the page colours the predicted class's map and stretches it
  // over the picture or the camera frame, as the studio's overlay does. Colours as HEAT_STOPS in
  // studio/core/evaluation/explain.py: blue (little) to red (most), transparent where there is no heat.
  const HEAT_STOPS = [[0, [48, 18, 160]], [0.35, [30, 160, 230]], [0.6, [120, 220, 90]], [0.8, [250, 200, 30]],
    [1, [230, 40, 20]]];
  const WHY_MAX_SIDE = 640;
  let whyCell = null;  // the heat at the model's input size, coloured
  api.lastWhy = null;  // {label, size, heat: rows of 0..1 at the model's input size, source}

  const whyOutput = () => meta && meta.why && meta.why.output;
  const whyShown = () => !!(whyOutput() && ui.whyToggle.checked);

  function heatColour(v) {
    for (let i = 1; i < HEAT_STOPS.length; i++) {
      const [at, c] = HEAT_STOPS[i];
      if (v <= at || i === HEAT_STOPS.length - 1) {
        const [at0, c0] = HEAT_STOPS[i - 1];
        const t = Math.max(0, Math.min(1, (v - at0) / (at - at0)));
        return [0, 1, 2].map((k) => Math.round(c0[k] + (c[k] - c0[k]) * t));
      }
    }
    return HEAT_STOPS[0][1];
  }

  function drawWhy(heat, best, kind, source) {
    if (!heat) { ui.whyLayer.hidden = true; return; }
    if (kind === "camera" && !looping) return;
    const size = meta.preprocessing.image_size;
    const k = labels.length;
    const rows = [];
    for (let y = 0; y < size; y++) {
      const row = new Array(size);
      for (let x = 0; x < size; x++) row[x] = heat[(y * size + x) * k + best];
      rows.push(row);
    }
    api.lastWhy = { label: labels[best], size, heat: rows, source: kind };
    paintWhy(rows, kind, source);
  }

  function paintWhy(rows, kind, source) {
    const size = rows.length;
    if (!whyCell) whyCell = document.createElement("canvas");
    [whyCell.width, whyCell.height] = [size, size];
    const ctx = whyCell.getContext("2d");
    const image = ctx.createImageData(size, size);
    const opacity = Number(ui.whyOpacity.value) / 100;
    rows.forEach((row, y) => row.forEach((v, x) => {
      const [r, g, b] = heatColour(v);
      const o = (y * size + x) * 4;
      image.data[o] = r; image.data[o + 1] = g; image.data[o + 2] = b;
      image.data[o + 3] = Math.round(255 * opacity * Math.max(0, Math.min(1, v)));
    }));
    ctx.putImageData(image, 0, 0);
    // Stretched to the source's own aspect: the model squashed the whole picture to a square, so the heat
    // lies over the pixels it came from; the layer is fitted into the stage like the picture or video.
    const [w, h] = source instanceof HTMLVideoElement ? [source.videoWidth, source.videoHeight]
      : [ui.picture.width, ui.picture.height];
    const scale = Math.min(1, WHY_MAX_SIDE / Math.max(w, h));
    const layer = ui.whyLayer;
    [layer.width, layer.height] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
    const out = layer.getContext("2d");
    out.imageSmoothingEnabled = true;
    out.clearRect(0, 0, layer.width, layer.height);
    out.drawImage(whyCell, 0, 0, layer.width, layer.height);
    layer.classList.toggle("mirrored", kind === "camera" && ui.mirror.checked);
    layer.hidden = false;
  }

  function setupWhy() {
    const offered = !!whyOutput();
    ui.whyToggle.disabled = !offered;
    // The studio's own default strength (metadata.json's why.opacity), so the page starts as the studio shows it.
    if (offered && typeof meta.why.opacity === "number") ui.whyOpacity.value = String(Math.round(meta.why.opacity * 100));
    ui.whyNote.textContent = offered
      ? `Where the model looked for its answer (${meta.why.method === "cam" ? "class activation map" : "Grad-CAM"}).`
      : "Show why is not available for this model: a dense network has no feature map to trace.";
    ui.whyToggle.addEventListener("change", () => {
      ui.whyOpacityWrap.hidden = !ui.whyToggle.checked;
      if (!ui.whyToggle.checked) { ui.whyLayer.hidden = true; return; }
      // An image on show is classified again to get its heat; the camera gets it from its next frame.
      if (!looping && !ui.picture.hidden) classify(ui.picture, "image").catch((err) => console.error(err));
    });
    ui.whyOpacity.addEventListener("input", () => {
      if (!api.lastWhy || ui.whyLayer.hidden) return;
      paintWhy(api.lastWhy.heat, api.lastWhy.source, api.lastWhy.source === "camera" ? ui.video : ui.picture);
    });
  }

  // ----- camera ---------------------------------------------------------------------------------------
  function cameraErrorMessage(err) {
    switch (err && err.name) {
      case "NotAllowedError":
      case "SecurityError":
        return ["Camera permission denied.", "Allow camera access for this page in the browser's site settings, " +
          "then press Start camera again. You can still classify images."];
      case "NotFoundError":
      case "OverconstrainedError":
        return ["No camera found.", "Connect a camera, or classify an image instead."];
      case "NotReadableError":
      case "AbortError":
        return ["The camera is busy.", "Another application may be using it; close it and try again."];
      default:
        return ["The camera could not start.", String((err && err.message) || err)];
    }
  }

  function cameraSupported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  async function listCameras() {
    if (!cameraSupported() || !navigator.mediaDevices.enumerateDevices) return;
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const current = ui.cameraSelect.value;
    ui.cameraSelect.textContent = "";
    if (devices.length === 0) {
      ui.cameraSelect.appendChild(new Option("No camera", ""));
      ui.cameraSelect.disabled = true;
      return;
    }
    // "Automatic" asks for the rear camera first (phones); a named camera is asked for by id.
    ui.cameraSelect.appendChild(new Option("Automatic camera", ""));
    devices.forEach((d, i) => ui.cameraSelect.appendChild(new Option(d.label || `Camera ${i + 1}`, d.deviceId)));
    ui.cameraSelect.value = devices.some((d) => d.deviceId === current) ? current : "";
    ui.cameraSelect.disabled = devices.length < 2 && !devices[0].label;
  }

  async function startCamera() {
    if (!model || stream) return;
    hideAlert();
    if (!cameraSupported()) {
      showAlert("No camera available here.", window.isSecureContext
        ? "This browser does not give pages access to a camera. You can still classify images."
        : "Browsers only allow the camera on https:// or http://localhost pages. Open the bundle from " +
          "`edge-studio serve` or an https host. You can still classify images.");
      return;
    }
    const deviceId = ui.cameraSelect.value;
    ui.cameraToggle.disabled = true;
    try {
      stream = await openCamera(deviceId);
    } catch (err) {
      ui.cameraToggle.disabled = false;
      const [title, text] = cameraErrorMessage(err);
      showAlert(title, text);
      setStatus(`Ready · ${api.backend}`, "ok");
      return;
    }
    ui.video.srcObject = stream;
    // A rear camera shows the world, not the user: no mirror (the switch can still turn it on).
    const settings = stream.getVideoTracks()[0] ? stream.getVideoTracks()[0].getSettings() : {};
    if (settings.facingMode) {
      ui.mirror.checked = settings.facingMode !== "environment";
      ui.video.classList.toggle("mirrored", ui.mirror.checked);
    }
    await ui.video.play().catch(() => {});
    showStage("camera");
    ui.cameraToggle.textContent = "Stop camera";
    ui.cameraToggle.classList.remove("primary");
    ui.cameraToggle.disabled = false;
    setStatus(`Live · ${api.backend}`, "live");
    listCameras().catch(() => {});
    stream.getVideoTracks().forEach((t) => t.addEventListener("ended", stopCamera));
    looping = true;
    frameTimes = [];
    frameCallbacks = true;
    cameraRun += 1;
    scheduleFrame(cameraRun);
  }

  // The camera picked in the list; else the rear camera where there is one (phones), else any camera.
  async function openCamera(deviceId) {
    if (deviceId) return navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: deviceId } }, audio: false });
    try {
      return await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
    } catch (err) {
      if (err && (err.name === "OverconstrainedError" || err.name === "NotFoundError")) {
        return navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      }
      throw err;
    }
  }

  // The camera frame as the model reads it: drawn down to FRAME_SCALE x the model's input on the short side
  // (aspect kept, the canvas smoothing), or the video itself where the camera is no bigger than that.
  function cameraFrame(video) {
    const [width, height] = [video.videoWidth, video.videoHeight];
    const short = FRAME_SCALE * meta.preprocessing.image_size;
    let read = video;
    if (short < Math.min(width, height)) {
      const scale = short / Math.min(width, height);
      if (!frameCanvas) frameCanvas = document.createElement("canvas");
      const [w, h] = [Math.round(width * scale), Math.round(height * scale)];
      if (frameCanvas.width !== w || frameCanvas.height !== h) [frameCanvas.width, frameCanvas.height] = [w, h];
      const ctx = frameCanvas.getContext("2d", { willReadFrequently: true });
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(video, 0, 0, w, h);
      read = frameCanvas;
    }
    api.cameraFrame = { shown: [width, height], read: [read.width || width, read.height || height] };
    return read;
  }

  function clearResult() {
    ui.topLabel.textContent = "—";
    ui.topLabel.classList.remove("unsure", "not-a-class");
    ui.topConfidence.textContent = "Waiting for an image";
    barRows.forEach((row) => {
      row.name.textContent = "";
      row.fill.style.width = "0%";
      row.value.textContent = "";
      row.li.classList.remove("best");
    });
    ui.sourceBadge.hidden = true;
    ui.ms.textContent = "–";
    ui.ms.title = "";
  }

  // After Stop camera the last camera prediction is cleared: nothing may look live once the camera is off.
  function clearCameraPrediction() {
    if (shownKind !== "camera") return;
    shownKind = null;
    clearResult();
  }

  function stopCamera() {
    looping = false;
    clearCameraPrediction();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    ui.video.srcObject = null;
    api.cameraFrame = null;
    ui.cameraToggle.textContent = "Start camera";
    ui.cameraToggle.classList.add("primary");
    ui.fps.textContent = "–";
    api.stats.fps = 0;
    if (!ui.video.hidden) {
      showStage("empty");
      // The camera's last answer must not stay on screen beside an empty stage.
      if (api.lastPrediction && api.lastPrediction.source === "camera") clearResult();
    }
    setStatus(`Ready · ${api.backend}`, "ok");
  }

  // Each new camera frame is classified once (the camera gives 25-30 frames a second, the screen repaints
  // 60 times): the next step waits for the source's next frame where the browser tells, else a repaint.
  function scheduleFrame(run) {
    if (!looping || run !== cameraRun) return;
    if (!frameCallbacks || !ui.video.requestVideoFrameCallback) {
      requestAnimationFrame(() => loop(run));
      return;
    }
    let done = false;
    const step = () => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      loop(run);
    };
    // A browser that stops calling back (a stalled camera, say) falls back to every repaint.
    const watchdog = setTimeout(() => {
      if (!document.hidden) frameCallbacks = false;
      step();
    }, 1000);
    ui.video.requestVideoFrameCallback(step);
  }

  async function loop(run) {
    if (!looping || run !== cameraRun) return;
    if (!busy && !document.hidden && ui.video.readyState >= 2 && ui.video.videoWidth > 0) {
      busy = true;
      try {
        await classify(ui.video, "camera");
        if (looping) tickFps();  // a frame finishing after Stop must not bring the FPS back
      } catch (err) {
        console.error(err);
      } finally {
        busy = false;
      }
    }
    scheduleFrame(run);
  }

  function tickFps() {
    const now = performance.now();
    frameTimes.push(now);
    while (frameTimes.length && now - frameTimes[0] > 1000) frameTimes.shift();
    if (frameTimes.length > 1) {
      api.stats.fps = (frameTimes.length - 1) * 1000 / (now - frameTimes[0]);
      ui.fps.textContent = api.stats.fps.toFixed(1);
    }
  }

  // ----- images ---------------------------------------------------------------------------------------
  async function classifyFile(file) {
    if (!file) return;
    if (!model) {
      // Still loading: keep the photo and classify it the moment the model is ready.
      pendingFile = file;
      ui.topConfidence.textContent = "Your photo is classified as soon as the model has loaded…";
      return;
    }
    if (file.type && !file.type.startsWith("image/")) {
      showAlert("That is not an image.", `${file.name || "The file"} has type ${file.type}.`);
      return;
    }
    hideAlert();
    let bitmap;
    try {
      // No colour-profile conversion: the studio decodes pixel values as stored, so this does too.
      bitmap = await createImageBitmap(file, { colorSpaceConversion: "none" });
    } catch (err) {
      showAlert("This image could not be read.", `${file.name || "The file"} is damaged or in an unsupported format.`);
      return;
    }
    if (looping) stopCamera();
    const canvas = ui.picture;
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    // Small images (icons, dataset thumbnails) look truer as pixels than as a blur.
    canvas.classList.toggle("pixelated", Math.max(bitmap.width, bitmap.height) < 160);
    showStage("image");
    try {
      await classify(bitmap, "image");
      ui.fps.textContent = "–";
    } catch (err) {
      showAlert("This image could not be classified.", String((err && err.message) || err));
    } finally {
      bitmap.close();
    }
  }

  function showStage(which) {
    ui.video.hidden = which !== "camera";
    ui.picture.hidden = which !== "image";
    if (which === "empty") ui.whyLayer.hidden = true;
    ui.dropzone.hidden = which !== "empty";
    ui.stage.classList.toggle("has-content", which !== "empty");
    ui.tabCamera.classList.toggle("active", which !== "image");
    ui.tabImage.classList.toggle("active", which === "image");
    ui.tabCamera.setAttribute("aria-selected", String(which !== "image"));
    ui.tabImage.setAttribute("aria-selected", String(which === "image"));
  }

  function wireInputs() {
    ui.cameraToggle.addEventListener("click", () => (stream ? stopCamera() : startCamera()));
    ui.cameraSelect.addEventListener("change", () => { if (stream) { stopCamera(); startCamera(); } });
    ui.mirror.addEventListener("change", () => ui.video.classList.toggle("mirrored", ui.mirror.checked));
    ui.tabCamera.addEventListener("click", () => { if (!stream) startCamera(); });
    ui.tabImage.addEventListener("click", () => ui.file.click());
    ui.file.addEventListener("change", () => {
      const file = ui.file.files && ui.file.files[0];
      classifyFile(file).finally(() => { ui.file.value = ""; });
    });
    ["dragenter", "dragover"].forEach((type) => document.addEventListener(type, (e) => {
      e.preventDefault();
      ui.stage.classList.add("dragging");
    }));
    ["dragleave", "drop"].forEach((type) => document.addEventListener(type, (e) => {
      e.preventDefault();
      ui.stage.classList.remove("dragging");
    }));
    document.addEventListener("drop", (e) => {
      const file = e.dataTransfer && Array.from(e.dataTransfer.files).find((f) => f.type.startsWith("image/"));
      if (file) classifyFile(file);
      else showAlert("Nothing to classify.", "Drop an image file (PNG, JPEG, WebP, …).");
    });
    document.addEventListener("paste", (e) => {
      const item = e.clipboardData && Array.from(e.clipboardData.items).find((i) => i.type.startsWith("image/"));
      if (item) { e.preventDefault(); classifyFile(item.getAsFile()); }
    });
    if (cameraSupported() && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => listCameras().catch(() => {}));
    }
    window.addEventListener("pagehide", () => { if (stream) stopCamera(); });
  }

  // ----- start ----------------------------------------------------------------------------------------
  async function main() {
    wireInputs();
    showStage("empty");
    // Touch screens (phones, tablets) neither drop nor paste with Ctrl+V: offer what they can do.
    if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
      ui.dropTitle.textContent = "Start the camera, or tap here to pick a photo";
      ui.dropHint.textContent = "Take one with the camera app or choose one from the gallery";
    }
    // Camera access needs https:// or localhost; say so up front, where a LAN address over http cannot.
    ui.insecureNotice.hidden = window.isSecureContext;
    try {
      await loadModel();
    } catch (err) {
      api.error = String((err && err.message) || err);
      setStatus("Model failed to load", "error");
      ui.loadProgress.hidden = true;
      const hint = location.protocol === "file:"
        ? "Browsers block loading a model from a file:// page. Serve the folder instead, e.g. " +
          "`edge-studio serve` or any static web server."
        : api.error;
      showAlert("The model could not be loaded.", hint);
      ui.topConfidence.textContent = "Model not available";
      return;
    }
    api.ready = true;
    describeBackend();
    ui.cameraToggle.disabled = !cameraSupported();
    if (!cameraSupported()) ui.cameraToggle.title = "Camera needs https:// or localhost";
    setStatus(`Ready · ${api.backend}`, "ok");
    ui.loadProgress.hidden = true;
    api.loadProgress = 100;
    if (pendingFile) {
      const file = pendingFile;
      pendingFile = null;
      classifyFile(file);
    }
    listCameras().catch(() => {});
    registerServiceWorker().catch((err) => {
      api.offline = "failed";
      console.warn("offline copy not installed", err);
    });
  }

  // ----- offline --------------------------------------------------------------------------------------
  // sw.js caches the whole bundle so that the page opens and classifies with no network after one visit.
  async function registerServiceWorker() {
    if (!window.isSecureContext || !("serviceWorker" in navigator)) {
      api.offline = "unsupported";
      return;
    }
    const hadController = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (!hadController) return;
      // A new export replaced the cached one while this (older) page was open.
      if (api.predictions === 0 && !stream) location.reload();
      else showAlert("A new version of this model is installed.", "Reload the page to use it.");
    });
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    api.offline = "ready";
  }

  main();
})();
