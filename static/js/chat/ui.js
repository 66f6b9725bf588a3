// DOM updates for the chat page. Text from other people only ever goes in through textContent.

const $ = (id) => document.getElementById(id);
// gettext/interpolate come from the JavaScript catalog (/jsi18n/) loaded by base.html.
const { gettext, interpolate } = globalThis;

export const els = {
  root: $("chat"),
  topbar: $("topbar"),
  localVideo: $("local-video"),
  localOff: $("local-off"),
  remoteVideo: $("remote-video"),
  overlay: $("remote-overlay"),
  overlayText: $("overlay-text"),
  overlayDetail: $("overlay-detail"),
  unmute: $("unmute"),
  status: $("status"),
  online: $("online-count"),
  controls: $("controls"),
  interests: $("interests"),
  lang: $("lang"),
  onlyLang: $("only-lang"),
  onlyCountry: $("only-country"),
  textOnly: $("text-only"),
  sounds: $("sounds"),
  applied: $("applied"),
  safety: $("safety"),
  start: $("start"),
  next: $("next"),
  stop: $("stop"),
  mute: $("mute"),
  camera: $("camera"),
  volume: $("volume"),
  chatToggle: $("chat-toggle"),
  unread: $("unread"),
  unreadCount: $("unread-count"),
  partner: $("partner"),
  partnerEmpty: $("partner-empty"),
  partnerInfo: $("partner-info"),
  partnerInitial: $("partner-initial"),
  partnerName: $("partner-name"),
  partnerLink: $("partner-link"),
  partnerVerified: $("partner-verified"),
  partnerGuest: $("partner-guest"),
  partnerCountry: $("partner-country"),
  partnerLikes: $("partner-likes"),
  lastPartner: $("last-partner"),
  commonLabel: $("common-label"),
  common: $("common-interests"),
  partnerInterests: $("partner-interests"),
  like: $("like"),
  report: $("report"),
  block: $("block"),
  textchat: $("textchat"),
  chatLog: $("chat-log"),
  chatForm: $("chat-form"),
  chatInput: $("chat-input"),
  chatSend: $("chat-send"),
  reportDialog: $("report-dialog"),
  reportForm: $("report-form"),
  reportName: $("report-name"),
  reportReason: $("report-reason"),
  reportNote: $("report-note"),
  blockDialog: $("block-dialog"),
  blockName: $("block-name"),
  toasts: $("toasts"),
  announcer: $("announcer"),
};

const CHAT_LOG_MAX = 300;
// Toasts sit over the video; more than this many at once would grow down onto the controls.
const TOASTS_MAX = 2;

// The server's interest normaliser (profiles/interests.py), applied with the rules it serves:
// lower-case; letters, digits and the served symbols kept, anything else a space; whitespace
// collapsed; cut to max_length; duplicates dropped; at most max_count tags.
export function parseInterests(text, rules) {
  const symbols = rules.symbols.replace(/[\\\]\[^-]/g, "\\$&");
  const dropped = new RegExp(`[^\\p{L}\\p{N}${symbols}]`, "gu");
  const seen = new Set();
  const out = [];
  for (const raw of String(text || "").split(",")) {
    const tag = raw.toLowerCase().replace(dropped, " ").replace(/\s+/g, " ").trim().slice(0, rules.max_length).trim();
    if (tag && !seen.has(tag)) {
      seen.add(tag);
      out.push(tag);
    }
    if (out.length >= rules.max_count) break;
  }
  return out;
}

export function setStatus(text, tone = "info") {
  els.status.textContent = text;
  els.status.dataset.tone = tone;
}

/** Says one thing to screen readers (the visible status and toasts are not live regions). */
export function announce(text) {
  // Clearing first makes a repeated sentence count as a new announcement.
  els.announcer.textContent = "";
  window.setTimeout(() => {
    els.announcer.textContent = text;
  }, 50);
}

export function setOverlay(text, detail = "") {
  if (text) {
    els.overlayText.textContent = text;
    setOverlayDetail(detail);
    els.overlay.hidden = false;
  } else {
    els.overlay.hidden = true;
  }
}

function setOverlayDetail(detail) {
  els.overlayDetail.textContent = detail;
  els.overlayDetail.hidden = !detail;
}

export function setOnline(count) {
  if (Number.isFinite(count)) els.online.textContent = String(count);
}

/**
 * The page-level phase drives which buttons make sense:
 * idle, starting, looking, matched, ended, reconnecting, offline (final: no reconnect).
 */
export function setPhase(phase) {
  els.root.dataset.state = phase;
  const active = ["starting", "looking", "matched", "ended", "reconnecting"].includes(phase);
  els.start.disabled = active || phase === "offline";
  for (const field of [els.interests, els.lang, els.onlyCountry]) field.disabled = phase === "offline";
  els.onlyLang.disabled = phase === "offline" || !els.lang.value; // the filter needs a language
  // Text-only decides whether the camera is asked for at Start; it can't change mid-session.
  els.textOnly.disabled = active || phase === "offline";
  els.next.disabled = !(phase === "looking" || phase === "matched" || phase === "ended");
  els.stop.disabled = !active;
  const matched = phase === "matched";
  els.chatInput.disabled = !matched;
  els.chatSend.disabled = !matched;
  if (!matched) hideUnread();
}

export function setModerationEnabled(enabled) {
  els.report.disabled = !enabled;
  els.block.disabled = !enabled;
}

export function setLikeEnabled(enabled) {
  els.like.disabled = !enabled;
}

export function markLiked() {
  els.like.disabled = true;
  els.like.classList.add("liked");
  els.like.textContent = gettext("♥ Liked");
}

export function resetLike() {
  els.like.classList.remove("liked");
  els.like.textContent = gettext("♥ Like");
}

function tag(text, common) {
  const span = document.createElement("span");
  span.className = common ? "tag common" : "tag";
  span.textContent = text;
  return span;
}

export function showPartner(partner, commonInterests) {
  const p = partner || {};
  const name = String(p.name || gettext("Stranger"));
  const common = (commonInterests || []).map(String);
  const commonSet = new Set(common.map((t) => t.toLowerCase()));
  els.partnerInitial.textContent = name.charAt(0).toUpperCase() || "?";
  // Accounts with a user name get a link to their public page; guests have none.
  const username = !p.guest && typeof p.username === "string" ? p.username : "";
  els.partnerLink.hidden = !username;
  els.partnerName.hidden = Boolean(username);
  if (username) {
    els.partnerLink.href = `/u/${encodeURIComponent(username)}/`;
    els.partnerLink.textContent = name;
  } else {
    els.partnerLink.removeAttribute("href");
    els.partnerName.textContent = name;
  }
  els.partnerVerified.hidden = p.verified !== true;
  els.partnerGuest.hidden = !p.guest;
  els.partnerCountry.textContent = p.country ? countryLabel(String(p.country)) : "";
  const likes = Number(p.likes);
  els.partnerLikes.textContent =
    Number.isFinite(likes) && !p.guest ? interpolate(gettext("♥ %(likes)s"), { likes }, true) : "";
  els.common.replaceChildren(...common.map((t) => tag(t, true)));
  els.commonLabel.hidden = common.length === 0;
  const others = (p.interests || []).map(String).filter((t) => !commonSet.has(t.toLowerCase()));
  els.partnerInterests.replaceChildren(...others.map((t) => tag(t, false)));
  els.partnerEmpty.hidden = true;
  els.partnerInfo.hidden = false;
  els.lastPartner.hidden = true;
  els.partner.classList.add("present");
  els.reportName.textContent = name;
  els.blockName.textContent = name;
}

/** The call ended: the card stays (to like, report or block them) until the next match. */
export function markPartnerGone() {
  if (!els.partnerInfo.hidden) els.lastPartner.hidden = false;
}

export function clearPartner() {
  els.partnerInfo.hidden = true;
  els.partnerEmpty.hidden = false;
  els.lastPartner.hidden = true;
  els.partner.classList.remove("present");
  els.common.replaceChildren();
  els.partnerInterests.replaceChildren();
  els.reportName.textContent = gettext("this person");
  els.blockName.textContent = gettext("this person");
}

let regionNames = null;
function countryLabel(code) {
  try {
    regionNames ??= new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "region" });
    const label = regionNames.of(code.toUpperCase());
    return label ? `${label} · ` : `${code} · `;
  } catch {
    return `${code} · `;
  }
}

/** who: "me", "them" or "system"; name: the speaker's display name for "them". */
export function addChatLine(who, text, name = "") {
  const li = document.createElement("li");
  li.className = `msg ${who}`;
  if (who === "system") {
    li.textContent = text;
  } else {
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who === "me" ? gettext("You") : name || gettext("Stranger");
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(label, body);
  }
  els.chatLog.append(li);
  // Keep the log bounded on long sessions.
  while (els.chatLog.childElementCount > CHAT_LOG_MAX) els.chatLog.firstElementChild.remove();
  els.chatLog.scrollTop = els.chatLog.scrollHeight;
  return li;
}

export function clearChat() {
  els.chatLog.replaceChildren();
  hideUnread();
}

// ---- the collapsible chat (phones) and its unread badge --------------------------------

export function chatCollapsed() {
  return els.textchat.classList.contains("collapsed");
}

export function setChatCollapsed(collapsed) {
  els.textchat.classList.toggle("collapsed", collapsed);
  els.chatToggle.setAttribute("aria-expanded", String(!collapsed));
  if (!collapsed) hideUnread();
}

export function bumpUnread() {
  const count = (Number(els.unreadCount.textContent) || 0) + 1;
  els.unreadCount.textContent = String(count);
  els.unread.hidden = false;
}

function hideUnread() {
  els.unreadCount.textContent = "0";
  els.unread.hidden = true;
}

// ---- toasts ------------------------------------------------------------------------

export function toast(text, tone = "info", ms = 4000) {
  const div = document.createElement("div");
  div.className = `toast ${tone}`;
  div.textContent = text;
  els.toasts.append(div);
  while (els.toasts.childElementCount > TOASTS_MAX) els.toasts.firstElementChild.remove();
  setTimeout(() => div.classList.add("leaving"), ms);
  setTimeout(() => div.remove(), ms + 400);
}

export function attachStream(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
  const played = video.play();
  if (played && typeof played.catch === "function") {
    return played.then(
      () => true,
      () => false,
    );
  }
  return Promise.resolve(true);
}

export function detachStream(video) {
  video.pause();
  video.srcObject = null;
}

/** Phones size the call to the screen under the top bar, whose height depends on its links. */
export function trackTopbarHeight() {
  if (!els.topbar) return;
  const apply = () => document.documentElement.style.setProperty("--topbar-h", `${els.topbar.offsetHeight}px`);
  apply();
  if (typeof ResizeObserver === "function") new ResizeObserver(apply).observe(els.topbar);
}
