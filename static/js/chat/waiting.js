// What the waiting screen says. The server sends
// {"type":"queued","stage":"interest"|"language"|"anyone","waiting":N} at join and at each widening
// boundary; older servers send a bare {"type":"queued"}, and then the text stays generic.

export const STAGES = ["interest", "language", "anyone"];

// gettext/ngettext/interpolate come from the JavaScript catalog (/jsi18n/) loaded by base.html.
const { gettext, ngettext, interpolate } = globalThis;
const fmt = (text, values) => interpolate(text, values, true);

function list(items, max = 3) {
  const shown = items.slice(0, max).join(", ");
  return items.length > max ? `${shown}…` : shown;
}

/**
 * The headline for one stage.
 * prefs: {interests: [str], langName: str ("" for any language), onlyLang: bool (never widens past it)}.
 * Each sentence is whole in the catalog, so every language can order it its own way.
 */
export function stageText(stage, { interests, langName, onlyLang = false }) {
  const likes = interests.length ? list(interests) : "";
  const values = { interests: likes, language: langName };
  if (stage === "language" || (stage === "anyone" && onlyLang && langName)) {
    if (likes && langName) {
      return fmt(gettext("No one with %(interests)s right now. Meeting anyone who speaks %(language)s…"), values);
    }
    if (likes) return fmt(gettext("No one with %(interests)s right now. Meeting anyone…"), values);
    if (langName) return fmt(gettext("Looking for someone who speaks %(language)s…"), values);
    return gettext("Looking for someone…");
  }
  if (stage === "anyone") {
    if (likes) return fmt(gettext("No one with %(interests)s right now. Meeting anyone…"), values);
    if (langName) return fmt(gettext("No one who speaks %(language)s right now. Meeting anyone…"), values);
    return gettext("Looking for someone to talk to…");
  }
  if (stage === "interest" && likes && langName) {
    return fmt(gettext("Looking for someone who likes %(interests)s and speaks %(language)s…"), values);
  }
  // The interest stage, or no stage from the server: say what was asked for.
  if (likes) return fmt(gettext("Looking for someone who likes %(interests)s…"), values);
  if (langName) return fmt(gettext("Looking for someone who speaks %(language)s…"), values);
  return gettext("Looking for someone to talk to…");
}

export function formatElapsed(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return m ? `${m}:${String(s % 60).padStart(2, "0")}` : `${s} s`;
}

/** The line under the headline: how long we have waited and, when known, how many wait with us. */
export function detailText(elapsedSeconds, waiting) {
  const parts = [fmt(gettext("Waiting %(time)s"), { time: formatElapsed(elapsedSeconds) })];
  if (Number.isFinite(waiting) && waiting >= 0) {
    // The server counts the whole pool, us included.
    const others = Math.max(0, waiting - 1);
    parts.push(fmt(ngettext("%(count)s other person waiting", "%(count)s other people waiting", others), { count: others }));
  }
  return parts.join(" · ");
}

/** Ticks once a second while a search runs and calls render(elapsedSeconds). */
export class WaitClock {
  constructor(render) {
    this.render = render;
    this.startedAt = 0;
    this.timer = null;
  }

  start() {
    this.stop();
    this.startedAt = performance.now();
    this.render(0);
    this.timer = window.setInterval(() => this.render(this.elapsed()), 1000);
  }

  elapsed() {
    return this.timer === null ? 0 : (performance.now() - this.startedAt) / 1000;
  }

  get running() {
    return this.timer !== null;
  }

  stop() {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }
}
