// Edge AI Vision Studio web bundle: classifies camera frames and images entirely in the browser.
// The model takes raw RGB pixels (0..255, any size) and does its own preprocessing, exactly as in the
// studio, so this page only hands it tf.browser.fromPixels(...) and reads the probabilities back.
(() => {
  "use strict";

  const TOP_K = 5;
  const BACKENDS = ["webgl", "cpu"];  // first that initialises wins
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
    modelFacts: $("model-facts"),
  };

  // Published for automation and tests: lastPrediction = {label, probabilities (label -> float),
  // source: "camera" | "image", ms}; ready/error after loading; stats.ms = recent inference times.
  const api = {
    ready: false, error: null, backend: null, loadMs: null, lastPrediction: null, predictions: 0,
    stats: { ms: [], fps: 0 },
    cspViolations: [],
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
  let looping = false;
  let busy = false;
  let frameTimes = [];
  let barRows = [];

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

  ui.alertClose.addEventListener("click", hideAlert);

  // ----- model ----------------------------------------------------------------------------------------
  async function pickBackend() {
    const wanted = new URLSearchParams(location.search).get("backend");
    const order = wanted ? [wanted, ...BACKENDS.filter((b) => b !== wanted)] : BACKENDS;
    for (const name of order) {
      try {
        if (await tf.setBackend(name)) { await tf.ready(); return tf.getBackend(); }
      } catch (err) {
        console.warn(`backend ${name} unavailable`, err);
      }
    }
    throw new Error("no TensorFlow.js backend could start (neither WebGL nor CPU)");
  }

  function outputTensor(result) {
    // A graph model with one named output may hand back a tensor, an array or a name -> tensor map.
    if (result instanceof tf.Tensor) return result;
    if (Array.isArray(result)) return result[0];
    return Object.values(result)[0];
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
    describeModel();
    api.backend = await pickBackend();
    model = await tf.loadGraphModel(meta.model.path);
    // Warm-up: the first run compiles shaders/kernels; do it before the first real frame.
    const size = meta.preprocessing.image_size;
    const warm = tf.tidy(() => outputTensor(model.predict(tf.zeros([1, size, size, 3]))));
    await warm.data();
    warm.dispose();
    api.loadMs = performance.now() - t0;
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
    // Functional ops only: the split runtime (tfjs-core) does not register chained tensor methods.
    const probs = tf.tidy(() => outputTensor(model.predict(
      tf.expandDims(tf.cast(tf.browser.fromPixels(source), "float32"), 0))));
    let values;
    try {
      values = await probs.data();
    } finally {
      probs.dispose();
    }
    const ms = performance.now() - t0;
    const probabilities = {};
    let best = 0;
    labels.forEach((name, i) => {
      probabilities[name] = values[i];
      if (values[i] > values[best]) best = i;
    });
    api.lastPrediction = { label: labels[best], probabilities, source: kind, ms };
    api.predictions += 1;
    api.stats.ms.push(ms);
    if (api.stats.ms.length > MS_HISTORY) api.stats.ms.shift();
    render(values, kind, ms);
    return api.lastPrediction;
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

  function render(values, kind, ms) {
    if (kind === "camera" && !looping) return;  // a frame that finishes after Stop camera is not shown
    shownKind = kind;
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
    const top = order[0];
    ui.topLabel.textContent = labels[top];
    ui.topConfidence.textContent = `${(values[top] * 100).toFixed(1)}% confidence`;
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
    devices.forEach((d, i) => ui.cameraSelect.appendChild(new Option(d.label || `Camera ${i + 1}`, d.deviceId)));
    if (devices.some((d) => d.deviceId === current)) ui.cameraSelect.value = current;
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
    const video = deviceId ? { deviceId: { exact: deviceId } } : { facingMode: "user" };
    ui.cameraToggle.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (err) {
      ui.cameraToggle.disabled = false;
      const [title, text] = cameraErrorMessage(err);
      showAlert(title, text);
      setStatus(`Ready · ${api.backend}`, "ok");
      return;
    }
    ui.video.srcObject = stream;
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
    requestAnimationFrame(loop);
  }

  // After Stop camera the last camera prediction is cleared: nothing may look live once the camera is off.
  function clearCameraPrediction() {
    if (shownKind !== "camera") return;
    shownKind = null;
    ui.topLabel.textContent = "—";
    ui.topConfidence.textContent = "";
    ui.sourceBadge.hidden = true;
    ui.ms.textContent = "–";
    barRows.forEach((row) => { row.fill.style.width = "0%"; row.value.textContent = ""; row.li.classList.remove("best"); });
  }

  function stopCamera() {
    looping = false;
    clearCameraPrediction();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    ui.video.srcObject = null;
    ui.cameraToggle.textContent = "Start camera";
    ui.cameraToggle.classList.add("primary");
    ui.fps.textContent = "–";
    api.stats.fps = 0;
    if (!ui.video.hidden) showStage("empty");
    setStatus(`Ready · ${api.backend}`, "ok");
  }

  async function loop() {
    if (!looping) return;
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
    requestAnimationFrame(loop);
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
    if (!model) { showAlert("The model is not loaded.", "Images can be classified once it has loaded."); return; }
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
    try {
      await loadModel();
    } catch (err) {
      api.error = String((err && err.message) || err);
      setStatus("Model failed to load", "error");
      const hint = location.protocol === "file:"
        ? "Browsers block loading a model from a file:// page. Serve the folder instead, e.g. " +
          "`edge-studio serve` or any static web server."
        : api.error;
      showAlert("The model could not be loaded.", hint);
      ui.topConfidence.textContent = "Model not available";
      return;
    }
    api.ready = true;
    ui.backend.textContent = api.backend;
    ui.cameraToggle.disabled = !cameraSupported();
    if (!cameraSupported()) ui.cameraToggle.title = "Camera needs https:// or localhost";
    setStatus(`Ready · ${api.backend}`, "ok");
    listCameras().catch(() => {});
  }

  main();
})();
