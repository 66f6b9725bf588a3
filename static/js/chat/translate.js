// Received chat lines: "written in Spanish" when a line is in another language than the page, and a
// Translate action when the site offers translation (config.translation):
//   ""               off: no action at all;
//   "browser"        only the browser's built-in Translator API, where the browser has it;
//   "libretranslate" the browser's own translator first (the line never leaves the device), else
//                    POST /api/translate/ (the server's LibreTranslate, cached and rate-limited).
// main.js calls decorateReceivedLine() for every line the partner sends. Text only ever goes in
// through textContent.

const { gettext, interpolate } = globalThis;

const settings = { mode: "", language: "en" };
const browserTranslators = new Map(); // "es>en" -> Promise of a Translator, or null

export function setUpTranslation(config) {
  settings.mode = String(config.translation || "");
  settings.language = String(config.language || document.documentElement.lang || "en");
}

function primary(code) {
  return String(code || "").toLowerCase().split("-")[0];
}

let languageNames = null;
export function languageName(code) {
  try {
    languageNames ??= new Intl.DisplayNames([settings.language], { type: "language" });
    return languageNames.of(code) || code;
  } catch {
    return code;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function browserTranslatorFor(source) {
  const Translator = globalThis.Translator;
  if (!source || !Translator || typeof Translator.create !== "function") return Promise.resolve(null);
  const options = { sourceLanguage: source, targetLanguage: primary(settings.language) };
  const key = `${options.sourceLanguage}>${options.targetLanguage}`;
  if (!browserTranslators.has(key)) {
    // With a server behind it, only a model already on the device is worth it; in "browser" mode
    // the browser may fetch one (the click is the user activation it asks for).
    const usable = settings.mode === "browser" ? ["available", "downloadable", "downloading"] : ["available"];
    const made = Promise.resolve(Translator.availability ? Translator.availability(options) : "unavailable")
      .then((availability) => (usable.includes(availability) ? Translator.create(options) : null))
      .catch(() => null);
    browserTranslators.set(key, made);
  }
  return browserTranslators.get(key);
}

async function serverTranslation(text, source) {
  const response = await fetch("/api/translate/", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: JSON.stringify({ text, target: settings.language, ...(source ? { source } : {}) }),
  });
  if (response.ok) return (await response.json()).translation;
  const code = await response.json().then((body) => body.error && body.error.code, () => "");
  if (response.status === 429 || code === "rate_limited") {
    throw new Error(gettext("You are translating a lot: wait a moment and try again."));
  }
  if (code === "translation_refused") throw new Error(gettext("This language cannot be translated here."));
  throw new Error(gettext("Translation is temporarily unavailable. Try again shortly."));
}

async function translateLine(text, source) {
  const translator = await browserTranslatorFor(source);
  if (translator) {
    try {
      return await translator.translate(text);
    } catch {
      // fall through to the server when it is there
    }
  }
  if (settings.mode !== "libretranslate") throw new Error(gettext("Your browser cannot translate this line."));
  return serverTranslation(text, source);
}

function canTranslate(source) {
  if (settings.mode === "libretranslate") return true;
  // "browser": only where the built-in API exists (the pair is checked when pressed).
  return settings.mode === "browser" && Boolean(globalThis.Translator);
}

export function decorateReceivedLine(line, text, lang) {
  if (!line) return;
  const source = primary(lang);
  // Only a line known to be in another language gets a note and the action: short lines
  // ("ok", "lol") have no detectable language and rarely need translating.
  const foreign = source && source !== primary(settings.language);
  if (!foreign) return;
  const meta = document.createElement("span");
  meta.className = "line-meta";
  const note = document.createElement("span");
  note.className = "written-in";
  note.dataset.testid = "written-in";
  note.textContent = interpolate(gettext("written in %(language)s"), { language: languageName(source) }, true);
  meta.append(note);
  if (canTranslate(source)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link translate";
    button.dataset.testid = "translate";
    button.textContent = gettext("Translate");
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = gettext("Translating…");
      const result = document.createElement("span");
      result.className = "translation";
      result.dataset.testid = "translation";
      try {
        result.textContent = await translateLine(text, source);
        button.remove();
      } catch (error) {
        result.classList.add("error");
        result.textContent = error.message;
        button.disabled = false;
        button.textContent = gettext("Translate");
      }
      line.querySelector(".translation")?.remove();
      line.append(result);
    });
    meta.append(button);
  }
  line.append(meta);
}
