// DOM updates for the chat page. Text from other people only ever goes in through textContent.

const $ = (id) => document.getElementById(id);

export const els = {
  root: $("chat"),
  localVideo: $("local-video"),
  localOff: $("local-off"),
  remoteVideo: $("remote-video"),
  overlay: $("remote-overlay"),
  overlayText: $("overlay-text"),
  unmute: $("unmute"),
  status: $("status"),
  online: $("online-count"),
  controls: $("controls"),
  interests: $("interests"),
  lang: $("lang"),
  start: $("start"),
  next: $("next"),
  stop: $("stop"),
  partner: $("partner"),
  partnerEmpty: $("partner-empty"),
  partnerInfo: $("partner-info"),
  partnerInitial: $("partner-initial"),
  partnerName: $("partner-name"),
  partnerGuest: $("partner-guest"),
  partnerCountry: $("partner-country"),
  partnerLikes: $("partner-likes"),
  commonLabel: $("common-label"),
  common: $("common-interests"),
  partnerInterests: $("partner-interests"),
  like: $("like"),
  report: $("report"),
  block: $("block"),
  chatLog: $("chat-log"),
  chatForm: $("chat-form"),
  chatInput: $("chat-input"),
  chatSend: $("chat-send"),
  reportDialog: $("report-dialog"),
  reportForm: $("report-form"),
  reportReason: $("report-reason"),
  reportNote: $("report-note"),
  toasts: $("toasts"),
};

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

export function setOverlay(text) {
  if (text) {
    els.overlayText.textContent = text;
    els.overlay.hidden = false;
  } else {
    els.overlay.hidden = true;
  }
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
  els.interests.disabled = phase === "offline";
  els.lang.disabled = phase === "offline";
  els.next.disabled = !(phase === "looking" || phase === "matched" || phase === "ended");
  els.stop.disabled = !active;
  const matched = phase === "matched";
  els.chatInput.disabled = !matched;
  els.chatSend.disabled = !matched;
  els.report.disabled = !matched;
  els.block.disabled = !matched;
}

export function setLikeEnabled(enabled) {
  els.like.disabled = !enabled;
}

export function markLiked() {
  els.like.disabled = true;
  els.like.classList.add("liked");
  els.like.textContent = "♥ Liked";
}

export function resetLike() {
  els.like.classList.remove("liked");
  els.like.textContent = "♥ Like";
}

function tag(text, common) {
  const span = document.createElement("span");
  span.className = common ? "tag common" : "tag";
  span.textContent = text;
  return span;
}

export function showPartner(partner, commonInterests) {
  const p = partner || {};
  const name = String(p.name || "Stranger");
  const common = (commonInterests || []).map(String);
  const commonSet = new Set(common.map((t) => t.toLowerCase()));
  els.partnerInitial.textContent = name.charAt(0).toUpperCase() || "?";
  els.partnerName.textContent = name;
  els.partnerGuest.hidden = !p.guest;
  els.partnerCountry.textContent = p.country ? countryLabel(String(p.country)) : "";
  const likes = Number(p.likes);
  els.partnerLikes.textContent = Number.isFinite(likes) && !p.guest ? `♥ ${likes}` : "";
  els.common.replaceChildren(...common.map((t) => tag(t, true)));
  els.commonLabel.hidden = common.length === 0;
  const others = (p.interests || []).map(String).filter((t) => !commonSet.has(t.toLowerCase()));
  els.partnerInterests.replaceChildren(...others.map((t) => tag(t, false)));
  els.partnerEmpty.hidden = true;
  els.partnerInfo.hidden = false;
  els.partner.classList.add("present");
}

export function clearPartner() {
  els.partnerInfo.hidden = true;
  els.partnerEmpty.hidden = false;
  els.partner.classList.remove("present");
  els.common.replaceChildren();
  els.partnerInterests.replaceChildren();
}

let regionNames = null;
function countryLabel(code) {
  try {
    regionNames ??= new Intl.DisplayNames([navigator.language || "en"], { type: "region" });
    const label = regionNames.of(code.toUpperCase());
    return label ? `${label} · ` : `${code} · `;
  } catch {
    return `${code} · `;
  }
}

export function addChatLine(who, text) {
  const li = document.createElement("li");
  li.className = `msg ${who}`;
  if (who === "system") {
    li.textContent = text;
  } else {
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who === "me" ? "You" : "Stranger";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(label, body);
  }
  els.chatLog.append(li);
  // Keep the log bounded on long sessions.
  while (els.chatLog.childElementCount > 300) els.chatLog.firstElementChild.remove();
  els.chatLog.scrollTop = els.chatLog.scrollHeight;
}

export function clearChat() {
  els.chatLog.replaceChildren();
}

export function toast(text, tone = "info", ms = 4000) {
  const div = document.createElement("div");
  div.className = `toast ${tone}`;
  div.setAttribute("role", tone === "error" ? "alert" : "status");
  div.textContent = text;
  els.toasts.append(div);
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
