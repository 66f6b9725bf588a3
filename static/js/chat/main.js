// The chat page: wires the socket, the WebRTC peer, local media and the DOM together.
import {
  ChatSocket,
  CLOSE_FORBIDDEN,
  CLOSE_NO_SESSION,
  CLOSE_OTHER_TAB,
  socketUrl,
} from "./socket.js";
import { Peer } from "./peer.js";
import { acquireMedia, isLive, setTracksEnabled, stopStream } from "./media.js";
import { backgroundCue, setSoundsOn, soundsOn } from "./signals.js";
import { detailText, STAGES, stageText, WaitClock } from "./waiting.js";
import { initShield } from "./shield.js";
import { snapshotJpeg } from "./snapshot.js";
import { installFriends } from "./friends.js";
import {
  addChatLine,
  announce,
  attachStream,
  bumpUnread,
  chatCollapsed,
  clearChat,
  clearPartner,
  detachStream,
  els,
  markLiked,
  markPartnerGone,
  parseInterests,
  resetLike,
  setChatCollapsed,
  setLikeEnabled,
  setModerationEnabled,
  setOnline,
  setOverlay,
  setPhase,
  setStatus,
  showPartner,
  toast,
  trackTopbarHeight,
} from "./ui.js";
import { errorText, retryAfter } from "./errors.js";
import { decorateReceivedLine, setUpTranslation } from "./translate.js";

// gettext/interpolate come from the JavaScript catalog (/jsi18n/) loaded by base.html.
const { gettext, interpolate } = globalThis;
const fmt = (text, values) => interpolate(text, values, true);

const STORAGE = {
  interests: "seendr.interests",
  textOnly: "seendr.textOnly",
  tipsSeen: "seendr.tipsSeen",
};
// Browser tests shorten the ICE timeout through this global; nothing else sets it.
const ICE_TIMEOUT_MS = Number(window.seendrIceTimeoutMs) || undefined;

const config = JSON.parse(document.getElementById("chat-config").textContent);
// Limits and interest rules come from the server (their one owner each), never copied here.
const limits = config.limits;

const state = {
  phase: "idle",
  wantActive: false, // the user pressed Start and has not pressed Stop
  joinPending: false, // join/next sent, neither queued nor matched seen yet
  prefs: { interests: [], lang: "", onlyLang: false, onlyCountry: "" },
  joinedWith: "",
  iceServers: [],
  textOnly: false, // chosen at Start: no camera or microphone is asked for
  localStream: null,
  mediaPending: false, // start() is waiting for the camera permission
  muted: false,
  cameraOff: false,
  peer: null,
  match: null, // {id, partnerName, initiator}
  lastMatchId: null, // the current or just-ended match: like, report and block act on it
  lastPartnerName: "",
  likedMatchId: null,
  moderatedMatchId: null, // reported or blocked: nothing more to do with them
  queueStage: "",
  queueWaiting: null,
  earlySignals: [],
  everConnected: false,
  reportSnapshot: null, // the partner's video when the report dialog opened (nudity reports)
  pendingReport: null, // the last report frame, re-sent without its snapshot if that is refused
};

const socket = new ChatSocket(socketUrl(config.wsPath || "/ws/chat/"));
installFriends({ socket, beforeCall: ensureMedia });
const waitClock = new WaitClock(renderWaiting);

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode: remembering is a nicety
  }
}

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

// ---- phases and status -------------------------------------------------------------

function go(phase) {
  state.phase = phase;
  setPhase(phase);
  if (phase !== "looking") waitClock.stop();
  const last = state.lastMatchId;
  const open = Boolean(last) && phase !== "offline" && state.moderatedMatchId !== last;
  setLikeEnabled(open && state.likedMatchId !== last);
  setModerationEnabled(open);
  updateMediaButtons();
}

function langName() {
  const option = els.lang.selectedOptions[0];
  return state.prefs.lang && option ? option.textContent.trim() : "";
}

function renderWaiting(elapsed) {
  const { interests, onlyLang } = state.prefs;
  const text = stageText(state.queueStage, { interests, langName: langName(), onlyLang });
  setStatus(text, "busy");
  setOverlay(text, detailText(elapsed, state.queueWaiting));
}

function beginWaiting() {
  state.queueStage = "";
  state.queueWaiting = null;
  waitClock.start();
}

// ---- local media -------------------------------------------------------------------

async function ensureMedia() {
  if (isLive(state.localStream)) return;
  state.localStream = null;
  const { stream, reason } = await acquireMedia();
  if (!stream) {
    mediaUnavailable(
      {
        unsupported: gettext("This browser can't use a camera here (it needs HTTPS), so you're in text-only mode."),
        refused:
          gettext("Camera and microphone are blocked, so you're in text-only mode. Allow them in your browser's site settings and press Stop, then Start, to use video."),
        missing: gettext("No camera or microphone found, so you're in text-only mode."),
      }[reason],
    );
    return;
  }
  state.localStream = stream;
  state.muted = false;
  state.cameraOff = false;
  els.root.classList.remove("no-media");
  els.localOff.hidden = stream.getVideoTracks().length > 0;
  attachStream(els.localVideo, stream);
  if (stream.getAudioTracks().length === 0) toast(gettext("No microphone: your partner won't hear you."), "warn");
  if (stream.getVideoTracks().length === 0) toast(gettext("No camera: your partner won't see you."), "warn");
}

function mediaUnavailable(message) {
  els.root.classList.add("no-media");
  els.localOff.hidden = false;
  toast(message, "warn", 8000);
  addChatLine("system", message);
}

function stopMedia() {
  stopStream(state.localStream);
  state.localStream = null;
  detachStream(els.localVideo);
  els.localOff.textContent = gettext("Camera off");
  els.localOff.hidden = false;
  updateMediaButtons();
}

function updateMediaButtons() {
  const stream = state.localStream;
  els.mute.disabled = !stream || stream.getAudioTracks().length === 0;
  els.camera.disabled = !stream || stream.getVideoTracks().length === 0;
  els.mute.setAttribute("aria-pressed", String(state.muted && !els.mute.disabled));
  els.camera.setAttribute("aria-pressed", String(state.cameraOff && !els.camera.disabled));
}

function toggleMute() {
  state.muted = !state.muted;
  setTracksEnabled(state.localStream, "audio", !state.muted);
  updateMediaButtons();
  announce(state.muted ? gettext("Microphone muted.") : gettext("Microphone on."));
}

function toggleCamera() {
  state.cameraOff = !state.cameraOff;
  setTracksEnabled(state.localStream, "video", !state.cameraOff);
  els.localOff.textContent = state.cameraOff ? gettext("Camera off: your partner sees black") : gettext("Camera off");
  els.localOff.hidden = !state.cameraOff;
  updateMediaButtons();
  announce(state.cameraOff ? gettext("Camera off.") : gettext("Camera on."));
}

// ---- the peer ----------------------------------------------------------------------

function sendSignal(data) {
  if (!state.match) return;
  socket.send({ type: "signal", data: { ...data, match_id: state.match.id } });
}

function startPeer(frame) {
  const peer = new Peer({
    iceServers: frame.ice_servers || state.iceServers,
    initiator: Boolean(frame.initiator),
    localStream: state.localStream,
    sendSignal,
    connectTimeoutMs: ICE_TIMEOUT_MS,
  });
  state.peer = peer;
  peer.addEventListener("remote-stream", (event) => {
    if (state.peer !== peer) return;
    els.remoteVideo.volume = Number(els.volume.value) / 100;
    attachStream(els.remoteVideo, event.detail.stream).then((ok) => {
      if (ok || state.peer !== peer) return;
      // Autoplay with sound was refused; play muted and let the user opt in to sound.
      els.remoteVideo.muted = true;
      els.unmute.hidden = false;
      els.remoteVideo.play().catch(() => {});
    });
  });
  peer.addEventListener("state", (event) => {
    if (state.peer === peer) onPeerState(event.detail.state);
  });
  setOverlay(gettext("Connecting video…"));
  peer.start().catch((error) => {
    console.warn("could not start the call", error);
    onPeerState("failed");
  });
  const early = state.earlySignals.filter((d) => !d.match_id || d.match_id === frame.match_id);
  state.earlySignals = [];
  for (const data of early) peer.handleSignal(data);
}

function onPeerState(peerState) {
  const name = state.match ? state.match.partnerName : gettext("your partner");
  if (peerState === "connected") {
    const hasVideo = state.peer && state.peer.remoteStream.getVideoTracks().length > 0;
    setOverlay(hasVideo ? "" : fmt(gettext("%(name)s has no camera on. Text chat is open."), { name }));
    setStatus(fmt(gettext("Connected with %(name)s"), { name }), "ok");
  } else if (peerState === "reconnecting") {
    setStatus(fmt(gettext("Video connection with %(name)s is unstable, reconnecting…"), { name }), "busy");
  } else if (peerState === "restarting") {
    setStatus(gettext("Video connection failed, trying once more…"), "busy");
    setOverlay(gettext("Retrying video…"));
  } else if (peerState === "failed") {
    const text = fmt(
      gettext("Video couldn't connect: the network between you and %(name)s blocks it. Text chat still works, or press Next."),
      { name },
    );
    setStatus(text, "error");
    setOverlay(gettext("Video couldn't connect. Text chat still works."));
    announce(text);
  }
}

function teardownPeer() {
  if (state.peer) state.peer.close();
  state.peer = null;
  state.earlySignals = [];
  detachStream(els.remoteVideo);
  els.remoteVideo.muted = false;
  els.unmute.hidden = true;
}

// The partner card stays after a match ends: the last partner can still be liked, reported or
// blocked until the next match forms (the server accepts all three for a just-ended match).
function endMatch() {
  if (state.match) state.lastMatchId = state.match.id;
  state.match = null;
  teardownPeer();
  markPartnerGone();
}

// ---- actions -----------------------------------------------------------------------

// What a join asks for; comparing it tells whether Next must re-join with new preferences.
function preferencesKey(prefs = state.prefs) {
  return JSON.stringify(prefs);
}

function readPreferences() {
  const lang = els.lang.value;
  state.prefs = {
    interests: parseInterests(els.interests.value, config.interest),
    lang,
    onlyLang: Boolean(lang) && els.onlyLang.checked,
    onlyCountry: els.onlyCountry.value,
  };
  remember(STORAGE.interests, state.prefs.interests.join(", "));
  return state.prefs;
}

function joinFrame() {
  const { interests, lang, onlyLang, onlyCountry } = state.prefs;
  const frame = { type: "join", interests };
  if (lang) frame.lang = lang;
  if (onlyLang) frame.only_lang = true;
  if (onlyCountry) frame.only_country = onlyCountry;
  return frame;
}

function sendJoin() {
  state.joinPending = true;
  socket.send(joinFrame());
  state.joinedWith = preferencesKey();
  els.applied.hidden = true;
  go("looking");
  beginWaiting();
}

async function start() {
  if (state.wantActive) return;
  readPreferences();
  state.wantActive = true;
  state.textOnly = els.textOnly.checked;
  remember(STORAGE.textOnly, state.textOnly ? "1" : "");
  remember(STORAGE.tipsSeen, "1");
  go("starting");
  if (state.textOnly) {
    // Deliberately text only: the camera and microphone are never asked for.
    stopMedia();
    els.localOff.textContent = gettext("Text only");
  } else {
    setStatus(gettext("Starting your camera…"), "busy");
    state.mediaPending = true;
    try {
      await ensureMedia();
    } finally {
      state.mediaPending = false;
    }
    if (!state.wantActive) {
      stopMedia(); // Stop was pressed while the permission prompt was up
      return;
    }
    go("starting");
  }
  if (socket.isOpen) {
    sendJoin();
  } else {
    setStatus(gettext("Connecting to Seendr…"), "busy");
    socket.retryNow();
  }
}

function next() {
  if (!state.wantActive || !socket.isOpen) return;
  readPreferences();
  const changed = preferencesKey() !== state.joinedWith;
  if (state.phase === "matched") {
    endMatch();
    if (changed) {
      socket.send({ type: "leave" });
      sendJoin();
    } else {
      state.joinPending = true;
      socket.send({ type: "next" });
      els.applied.hidden = true;
      go("looking");
      beginWaiting();
    }
    addChatLine("system", gettext("You left the chat."));
    announce(gettext("You left the chat. Looking for someone new."));
  } else if (state.phase === "ended" || (state.phase === "looking" && changed)) {
    sendJoin();
  }
}

/** Enter in the set-up form: Start when idle; during a session it only saves (never Next). */
function submitSetup() {
  if (!state.wantActive) {
    start();
    return;
  }
  readPreferences();
  if (preferencesKey() === state.joinedWith) return;
  if (state.phase === "looking") {
    sendJoin(); // nobody to skip: search again with the new wishes
  } else {
    els.applied.hidden = false;
    announce(gettext("Saved: your next match uses these settings."));
  }
}

function stop() {
  state.wantActive = false;
  state.joinPending = false;
  socket.send({ type: "leave" });
  endMatch();
  stopMedia();
  go("idle");
  setStatus(gettext("Stopped. Press Start when you're ready."), "info");
  setOverlay(gettext("Press Start to meet someone."));
}

function sendChat() {
  const text = els.chatInput.value.trim();
  if (!text || state.phase !== "matched") return;
  if (text.length > limits.chat_text) {
    toast(fmt(gettext("Messages are at most %(count)s characters."), { count: limits.chat_text }), "warn");
    return;
  }
  if (!socket.send({ type: "chat", text })) {
    toast(gettext("Not connected: message not sent."), "error");
    return;
  }
  addChatLine("me", text);
  els.chatInput.value = "";
  els.chatInput.focus();
}

function openReport(reason) {
  if (els.report.disabled) return;
  els.reportForm.reset();
  if (reason) els.reportReason.value = reason;
  state.reportSnapshot = snapshotJpeg(els.remoteVideo); // what the reporter saw, taken now
  els.reportDialog.returnValue = ""; // else Esc would repeat the last choice
  els.reportDialog.showModal();
}

function openBlock() {
  els.blockDialog.returnValue = "";
  els.blockDialog.showModal();
}

// ---- server frames -----------------------------------------------------------------

const handlers = {
  hello(frame) {
    setOnline(frame.online);
    if (Array.isArray(frame.ice_servers)) state.iceServers = frame.ice_servers;
    if (state.wantActive && !state.mediaPending) {
      sendJoin();
    } else if (!state.wantActive && state.phase === "idle") {
      setStatus(gettext("Ready when you are. Type what you're into and press Start."), "info");
    }
  },
  queued(frame) {
    state.joinPending = false;
    if (state.phase !== "looking") go("looking");
    if (!waitClock.running) waitClock.start();
    const stage = STAGES.includes(frame.stage) ? frame.stage : "";
    const widened = stage && stage !== state.queueStage && state.queueStage !== "";
    state.queueStage = stage;
    const waiting = Number(frame.waiting);
    state.queueWaiting = Number.isFinite(waiting) ? waiting : null;
    renderWaiting(waitClock.elapsed());
    if (widened) announce(els.status.textContent);
  },
  matched(frame) {
    state.joinPending = false;
    if (frame.friend) state.wantActive = true; // an answered call: the page is in use, as after Start
    teardownPeer();
    const partner = frame.partner || {};
    const name = String(partner.name || gettext("Stranger"));
    state.match = { id: String(frame.match_id), partnerName: name, initiator: Boolean(frame.initiator) };
    state.lastMatchId = state.match.id;
    state.lastPartnerName = name;
    resetLike();
    go("matched");
    showPartner(partner, frame.common_interests);
    clearChat();
    const common = (frame.common_interests || []).map(String);
    const text = common.length
      ? fmt(gettext("You're talking with %(name)s. You both like %(interests)s."), { name, interests: common.join(", ") })
      : fmt(gettext("You're talking with %(name)s."), { name });
    addChatLine("system", text);
    setStatus(fmt(gettext("Connected with %(name)s"), { name }), "ok");
    announce(text);
    backgroundCue("matched", fmt(gettext("Talking with %(name)s"), { name }));
    startPeer(frame);
  },
  signal(frame) {
    const data = frame.data;
    if (!data || typeof data !== "object") return;
    if (state.peer && state.match) {
      if (data.match_id && data.match_id !== state.match.id) return; // from an earlier partner
      state.peer.handleSignal(data);
    } else if (state.earlySignals.length < 200) {
      state.earlySignals.push(data);
    }
  },
  chat(frame) {
    if (typeof frame.text !== "string") return;
    const name = state.match ? state.match.partnerName : gettext("Stranger");
    const line = addChatLine("them", frame.text, name);
    decorateReceivedLine(line, frame.text, typeof frame.lang === "string" ? frame.lang : "");
    announce(fmt(gettext("%(name)s: %(text)s"), { name, text: frame.text }));
    if (chatCollapsed()) bumpUnread();
    backgroundCue("message", fmt(gettext("%(name)s wrote"), { name }));
  },
  partner_left(frame) {
    const name = state.match ? state.match.partnerName : gettext("Stranger");
    endMatch();
    go("ended");
    const why = {
      disconnect: gettext("%(name)s left (connection lost)."),
      banned: gettext("%(name)s left (removed by moderators)."),
    }[frame.reason];
    const text = fmt(why || gettext("%(name)s left."), { name });
    setStatus(fmt(gettext("%(reason)s Press Next to meet someone new."), { reason: text }), "warn");
    setOverlay(fmt(gettext("%(reason)s Press Next to meet someone new."), { reason: text }));
    addChatLine("system", text);
    announce(fmt(gettext("%(reason)s Press Next to meet someone new."), { reason: text }));
  },
  left() {
    // Our own Stop (or a leave before re-joining with new interests); stop() already updated the page.
  },
  liked() {
    state.likedMatchId = state.lastMatchId;
    markLiked();
    toast(gettext("Liked! They'll know."), "ok");
    announce(gettext("Liked."));
  },
  you_were_liked() {
    const name = state.match ? state.match.partnerName : gettext("Your last partner");
    toast(fmt(gettext("♥ %(name)s liked you!"), { name }), "ok", 5000);
    announce(fmt(gettext("%(name)s liked you."), { name }));
  },
  reported() {
    state.pendingReport = null;
    afterModeration(gettext("Reported. Thanks: you won't meet them again."));
  },
  blocked() {
    afterModeration(gettext("Blocked: you won't meet them again."));
  },
  online(frame) {
    setOnline(frame.count);
  },
  error(frame) {
    const message = errorText(frame);
    if (frame.code === "bad_snapshot" && state.pendingReport) {
      // The report matters more than the picture: file it without one.
      const { snapshot, ...report } = state.pendingReport;
      state.pendingReport = null;
      socket.send(report);
      return;
    }
    if (frame.code === "not_matched") return; // a late signal after the partner left
    if (frame.code === "rate_limited") {
      toast(message, "warn", Math.min(10000, retryAfter(frame) * 1000 + 2000));
    } else {
      toast(message, "error");
    }
    announce(message);
    if (state.joinPending && frame.code !== "rate_limited") {
      // The server refused the join (e.g. matching is down): let the user try again.
      state.joinPending = false;
      state.wantActive = false;
      go("idle");
      setStatus(fmt(gettext("Couldn't start: %(reason)s"), { reason: message }), "error");
    }
  },
};

function afterModeration(text) {
  state.moderatedMatchId = state.lastMatchId; // no liking someone just reported or blocked
  if (state.phase === "matched") {
    endMatch();
    go("ended");
    setStatus(fmt(gettext("%(reason)s Press Next to meet someone new."), { reason: text }), "info");
    setOverlay(gettext("Press Next to meet someone new."));
  } else {
    go(state.phase);
  }
  clearPartner(); // nothing more to do with them
  toast(text, "ok");
  addChatLine("system", text);
  announce(text);
}

socket.addEventListener("message", (event) => {
  const frame = event.detail.frame;
  const handler = handlers[frame.type];
  if (handler) handler(frame);
});

socket.addEventListener("open", (event) => {
  if (event.detail.attempt > 0 && state.everConnected) toast(gettext("Reconnected."), "ok");
  state.everConnected = true;
});

socket.addEventListener("reconnecting", (event) => {
  const { attempt, delayMs } = event.detail;
  const seconds = Math.max(1, Math.round(delayMs / 1000));
  const text = state.everConnected
    ? gettext("Connection lost. Reconnecting in %(seconds)s s (attempt %(attempt)s)…")
    : gettext("Can't reach Seendr. Reconnecting in %(seconds)s s (attempt %(attempt)s)…");
  setStatus(fmt(text, { seconds, attempt }), "warn");
  if (attempt === 1) {
    announce(state.everConnected ? gettext("Connection lost. Reconnecting…") : gettext("Can't reach Seendr. Reconnecting…"));
  }
});

socket.addEventListener("closed", (event) => {
  const { code, final } = event.detail;
  // The server ends our match when the socket goes; keep the wish to chat, drop the call.
  if (state.match) {
    endMatch();
    addChatLine("system", gettext("Connection lost: the chat ended."));
  }
  state.joinPending = false;
  if (!final) {
    if (state.wantActive) go("reconnecting");
    return;
  }
  if (code === CLOSE_NO_SESSION) {
    window.location.assign("/");
    return;
  }
  state.wantActive = false;
  go("offline");
  stopMedia();
  els.root.classList.add("offline");
  if (code === CLOSE_FORBIDDEN) {
    setStatus(gettext("You can't use the chat: this account is banned, or the page was opened from a site that isn't allowed."), "error");
    setOverlay(gettext("Chat is not available for this account."));
  } else if (code === CLOSE_OTHER_TAB) {
    setStatus(gettext("Seendr is open in another tab, so this one stopped. Reload to chat here instead."), "error");
    setOverlay(gettext("Opened in another tab."));
  }
  announce(els.status.textContent);
});

// ---- DOM events --------------------------------------------------------------------

els.controls.addEventListener("submit", (event) => {
  event.preventDefault();
  submitSetup();
});
// The browser skips implicit submission while Start (the form's default button) is disabled,
// as it is during a session; Enter in the text field must still save.
els.interests.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.isComposing) return;
  event.preventDefault();
  submitSetup();
});
els.next.addEventListener("click", next);
els.stop.addEventListener("click", stop);
els.mute.addEventListener("click", toggleMute);
els.camera.addEventListener("click", toggleCamera);
els.volume.addEventListener("input", () => {
  els.remoteVideo.volume = Number(els.volume.value) / 100;
});
els.chatToggle.addEventListener("click", () => setChatCollapsed(!chatCollapsed()));
els.lang.addEventListener("change", () => {
  if (!els.lang.value) els.onlyLang.checked = false;
  setPhase(state.phase);
});
els.sounds.addEventListener("change", () => setSoundsOn(els.sounds.checked));
els.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendChat();
});
els.like.addEventListener("click", () => {
  if (socket.send({ type: "like" })) els.like.disabled = true;
});
els.report.addEventListener("click", () => openReport());
els.block.addEventListener("click", openBlock);
els.reportDialog.addEventListener("close", () => {
  const snapshot = state.reportSnapshot;
  state.reportSnapshot = null;
  if (els.reportDialog.returnValue !== "report") return;
  const frame = { type: "report", reason: els.reportReason.value };
  const note = els.reportNote.value.trim();
  if (note) frame.note = note.slice(0, limits.report_note);
  if (frame.reason === "nudity" && snapshot) frame.snapshot = snapshot;
  state.pendingReport = frame;
  socket.send(frame);
});
els.blockDialog.addEventListener("close", () => {
  if (els.blockDialog.returnValue === "block") socket.send({ type: "block" });
});
els.unmute.addEventListener("click", () => {
  els.remoteVideo.muted = false;
  els.unmute.hidden = true;
  els.remoteVideo.play().catch(() => {});
});

function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || target.matches("input, textarea, select"));
}

// Esc is Next, except while typing (Esc there means "never mind") or inside a dialog.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  if (els.reportDialog.open || els.blockDialog.open || typingIn(event.target)) return;
  if (!els.next.disabled) {
    event.preventDefault();
    next();
  }
});
window.addEventListener("pagehide", () => socket.close());
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload(); // restored from the back/forward cache
});

// ---- boot --------------------------------------------------------------------------

initShield({ root: document.getElementById("shield"), video: els.remoteVideo, onReport: () => openReport("nudity") });

if (!els.interests.value) els.interests.value = recall(STORAGE.interests) || "";
els.textOnly.checked = recall(STORAGE.textOnly) === "1";
els.sounds.checked = soundsOn();
els.safety.hidden = recall(STORAGE.tipsSeen) === "1";
els.chatInput.maxLength = limits.chat_text;
els.reportNote.maxLength = limits.report_note;
trackTopbarHeight();
go("idle");
els.localOff.hidden = false;
setUpTranslation(config);
setStatus(gettext("Connecting to Seendr…"), "busy");
socket.connect();
