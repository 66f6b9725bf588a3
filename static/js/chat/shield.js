// The nudity shield: the partner's video starts blurred and is shown only after `safeChecks`
// checks in a row find every watched class below its threshold; checks go on every
// `intervalMs` and a hit blurs it again. Classification runs in a worker (shield-worker.js) on
// small frames, never on the main thread, and never blocks the call: a device that cannot load
// the model or check a frame in time is told so, and the video stays blurred with "Show anyway".
//
// Thresholds, watched classes and time boxes come from the server (the `shield-config` JSON of
// the page). The wrapper's data attributes tell the state and a few numbers (for people reading
// the DOM and for the browser tests): data-shield, data-shield-backend, data-shield-load-ms,
// data-shield-check-ms, data-shield-checks, data-shield-tensors.

const STORAGE_KEY = "seendr.shield"; // "off" when the person turned the shield off
const FRAME_SIZE = 224; // the model's input: smaller frames cost less to copy and to resize
const SLOW_STRIKES = 3; // checks in a row over the time box before giving up on this device

// gettext comes from the JavaScript catalog (/jsi18n/) loaded by base.html; each text is looked
// up when it is shown.
const { gettext } = globalThis;
const TEXT = {
  loading: () => gettext("Loading the nudity filter… The video stays blurred until it has checked it."),
  checking: () => gettext("Checking the video for nudity…"),
  blocked: () => gettext("This video may show nudity, so it is blurred."),
  failed: () =>
    gettext("The nudity filter can't run on this device, so the video stays blurred. Choose Show anyway to see it."),
  slow: () =>
    gettext("This device is too slow for the nudity filter, so the video stays blurred. Choose Show anyway to see it."),
};

function readEnabled() {
  try {
    return localStorage.getItem(STORAGE_KEY) !== "off";
  } catch {
    return true; // private mode: the safe default
  }
}

function rememberEnabled(enabled) {
  try {
    if (enabled) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, "off");
  } catch {
    // remembering is a nicety
  }
}

function timeout(ms) {
  return new Promise((resolve) => setTimeout(() => resolve({ type: "timeout" }), ms));
}

export function isHit(scores, watched) {
  return Object.entries(watched).some(([name, threshold]) => (scores[name] ?? 0) >= threshold);
}

class Classifier {
  // One worker per page; one check in flight at a time (the shield waits for each answer).
  constructor(config) {
    this.config = config;
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
    this.bitmaps = false;
    this.canvas = null;
  }

  async load() {
    this.worker = new Worker(this.config.worker);
    const ready = new Promise((resolve) => {
      this.worker.addEventListener("message", (event) => {
        const message = event.data || {};
        if (message.type === "ready" || message.type === "failed") resolve(message);
        const waiter = this.pending.get(message.id);
        if (waiter) {
          this.pending.delete(message.id);
          waiter(message);
        }
      });
      this.worker.addEventListener("error", (event) => {
        event.preventDefault();
        resolve({ type: "failed", message: event.message || "the worker failed" });
      });
    });
    const scripts = this.config.scripts.map((url) => new URL(url, location.href).href);
    this.worker.postMessage({ type: "load", scripts, backend: this.config.backend });
    const answer = await Promise.race([ready, timeout(this.config.loadTimeoutMs)]);
    if (answer.type === "ready") this.bitmaps = Boolean(answer.bitmaps);
    else this.stop();
    return answer;
  }

  async frameOf(video) {
    if (this.bitmaps && typeof createImageBitmap === "function") {
      return createImageBitmap(video, { resizeWidth: FRAME_SIZE, resizeHeight: FRAME_SIZE, resizeQuality: "low" });
    }
    if (!this.canvas) {
      this.canvas = document.createElement("canvas");
      this.canvas.width = this.canvas.height = FRAME_SIZE;
    }
    const context = this.canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, FRAME_SIZE, FRAME_SIZE);
    return context.getImageData(0, 0, FRAME_SIZE, FRAME_SIZE);
  }

  // Resolves with the worker's answer, or {type: "timeout"} after checkTimeoutMs.
  async classify(video) {
    const frame = await this.frameOf(video);
    const id = this.nextId++;
    const answer = new Promise((resolve) => this.pending.set(id, resolve));
    const transfer = frame instanceof ImageData ? [frame.data.buffer] : [frame];
    this.worker.postMessage({ type: "classify", id, frame }, transfer);
    const result = await Promise.race([answer, timeout(this.config.checkTimeoutMs)]);
    if (result.type === "timeout") this.pending.delete(id);
    return result;
  }

  stop() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.pending.clear();
  }
}

export function initShield({ root, video, onReport }) {
  const configElement = document.getElementById("shield-config");
  const config = JSON.parse(configElement.textContent);
  const cover = root.querySelector("[data-shield-cover]");
  const text = root.querySelector("[data-shield-text]");
  const toggle = root.querySelector("[data-shield-toggle]");
  const showButton = root.querySelector("[data-shield-show]");
  const reportButton = root.querySelector("[data-shield-report]");

  const state = {
    enabled: readEnabled(),
    model: "none", // none | loading | ready | failed | slow
    view: "idle", // idle (no video) | checking | clear | blocked | revealed
    safeRun: 0,
    slowRun: 0,
    checks: 0,
    generation: 0, // bumps with every new video source: late answers about an old one are dropped
    timer: null,
    classifier: null,
  };

  function render() {
    let shown = state.view;
    let message = "";
    if (!state.enabled) shown = "off";
    else if (state.view === "checking" || state.view === "blocked") {
      if (state.model === "failed" || state.model === "slow") {
        shown = "unavailable";
        message = TEXT[state.model]();
      } else if (state.model !== "ready") {
        message = TEXT.loading();
      } else {
        message = TEXT[state.view]();
      }
    }
    root.dataset.shield = shown;
    text.textContent = message;
    cover.hidden = !["checking", "blocked", "unavailable"].includes(shown);
    toggle.checked = state.enabled;
  }

  function schedule(delayMs) {
    clearTimeout(state.timer);
    state.timer = setTimeout(check, delayMs);
  }

  function wantsChecks() {
    return state.enabled && state.model === "ready" && ["checking", "clear", "blocked"].includes(state.view);
  }

  async function check() {
    if (!wantsChecks()) return;
    if (video.readyState < 2 || video.videoWidth === 0) {
      schedule(250); // no frame yet: look again soon
      return;
    }
    const generation = state.generation;
    let result;
    try {
      result = await state.classifier.classify(video);
    } catch (error) {
      result = { type: "error", message: String(error) };
    }
    if (generation !== state.generation || !wantsChecks()) {
      if (wantsChecks()) schedule(0);
      return;
    }
    if (result.type === "result") {
      state.slowRun = 0;
      state.checks += 1;
      root.dataset.shieldChecks = String(state.checks);
      root.dataset.shieldCheckMs = String(result.ms);
      if (result.tensors !== null && result.tensors !== undefined) root.dataset.shieldTensors = String(result.tensors);
      if (isHit(result.scores, config.watched)) {
        state.safeRun = 0;
        state.view = "blocked";
      } else {
        state.safeRun += 1;
        if (state.safeRun >= config.safeChecks) state.view = "clear";
      }
    } else {
      // A check that failed or ran out of time proves nothing: the video stays as it was, and
      // a run of slow checks means this device cannot keep up.
      state.safeRun = 0;
      if (state.view === "clear") state.view = "checking";
      if (result.type === "timeout") state.slowRun += 1;
      if (state.slowRun >= SLOW_STRIKES) {
        giveUp("slow");
        return;
      }
    }
    render();
    schedule(config.intervalMs);
  }

  function giveUp(reason) {
    state.model = reason;
    if (state.classifier) state.classifier.stop();
    state.classifier = null;
    clearTimeout(state.timer);
    if (state.view === "clear") state.view = "checking";
    root.dataset.shieldError = reason;
    render();
  }

  async function loadModel() {
    if (state.model !== "none") return;
    state.model = "loading";
    render();
    const classifier = new Classifier(config);
    state.classifier = classifier;
    let answer;
    try {
      answer = await classifier.load();
    } catch (error) {
      answer = { type: "failed", message: String(error) };
    }
    if (state.classifier !== classifier) return; // turned off (or given up) meanwhile
    if (answer.type !== "ready") {
      console.warn("nudity shield unavailable:", answer.message || answer.type);
      giveUp(answer.type === "timeout" ? "slow" : "failed");
      return;
    }
    state.model = "ready";
    root.dataset.shieldBackend = answer.backend;
    root.dataset.shieldLoadMs = String(answer.loadMs);
    render();
    schedule(0);
  }

  function startWatching() {
    state.generation += 1;
    state.safeRun = 0;
    state.view = "checking";
    render();
    schedule(0);
  }

  function stopWatching() {
    state.generation += 1;
    state.view = "idle";
    clearTimeout(state.timer);
    render();
  }

  function setEnabled(enabled) {
    state.enabled = enabled;
    rememberEnabled(enabled);
    if (enabled) {
      if (state.view !== "idle") state.view = "checking";
      state.safeRun = 0;
      if (state.model === "none") loadModel();
      else schedule(0);
    } else {
      clearTimeout(state.timer);
      // Off means off: the worker and its model go (the files stay cached for a later "on").
      if (state.classifier) state.classifier.stop();
      state.classifier = null;
      if (state.model === "loading" || state.model === "ready") state.model = "none";
    }
    render();
  }

  // A new source (a new partner) starts blurred; no source, nothing to check.
  video.addEventListener("loadstart", () => (video.srcObject ? startWatching() : stopWatching()));
  video.addEventListener("emptied", () => {
    if (!video.srcObject) stopWatching();
  });
  toggle.addEventListener("change", () => setEnabled(toggle.checked));
  showButton.addEventListener("click", () => {
    state.view = "revealed"; // for this partner only; the next one starts blurred again
    clearTimeout(state.timer);
    render();
  });
  reportButton.addEventListener("click", () => onReport());

  render();
  if (state.enabled) loadModel();
}
