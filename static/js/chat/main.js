// The chat page: wires the socket, the WebRTC peer and the DOM together.
import {
  ChatSocket,
  CLOSE_FORBIDDEN,
  CLOSE_NO_SESSION,
  CLOSE_OTHER_TAB,
  socketUrl,
} from "./socket.js";
import { Peer } from "./peer.js";
import {
  addChatLine,
  attachStream,
  clearChat,
  clearPartner,
  detachStream,
  els,
  markLiked,
  parseInterests,
  resetLike,
  setLikeEnabled,
  setOnline,
  setOverlay,
  setPhase,
  setStatus,
  showPartner,
  toast,
} from "./ui.js";

const INTERESTS_STORAGE_KEY = "seendr.interests";
// Browser tests shorten the ICE timeout through this global; nothing else sets it.
const ICE_TIMEOUT_MS = Number(window.seendrIceTimeoutMs) || undefined;

const config = JSON.parse(document.getElementById("chat-config").textContent);
// Limits and interest rules come from the server (their one owner each), never copied here.
const LIMITS = config.limits;
const CHAT_MAX = LIMITS.chat_text;
els.chatInput.maxLength = LIMITS.chat_text;
els.reportNote.maxLength = LIMITS.report_note;

const state = {
  phase: "idle",
  wantActive: false, // the user pressed Start and has not pressed Stop
  joinPending: false, // join/next sent, neither queued nor matched seen yet
  interests: [],
  lang: "", // ISO 639-1 code from the language picker, "" for any
  iceServers: [],
  localStream: null,
  mediaPending: false, // start() is waiting for the camera permission
  peer: null,
  match: null, // {id, partnerName, initiator}
  lastMatchId: null, // a just-ended match can still be liked
  likedMatchId: null,
  earlySignals: [],
  everConnected: false,
};

const socket = new ChatSocket(socketUrl(config.wsPath || "/ws/chat/"));

// ---- phases and status -------------------------------------------------------------

function go(phase) {
  state.phase = phase;
  setPhase(phase);
  setLikeEnabled(Boolean(state.lastMatchId) && state.likedMatchId !== state.lastMatchId && phase !== "offline");
}

function lookingText() {
  if (state.interests.length === 0) return "Looking for someone to talk to…";
  const shown = state.interests.slice(0, 3).join(", ");
  return `Looking for someone who likes ${shown}…`;
}

function showLooking() {
  setStatus(lookingText(), "busy");
  setOverlay(state.interests.length ? `Finding someone who likes ${state.interests.join(", ")}…` : "Finding someone…");
}

// ---- local media -------------------------------------------------------------------

async function ensureMedia() {
  if (state.localStream && state.localStream.getTracks().some((t) => t.readyState === "live")) return;
  state.localStream = null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    mediaUnavailable("This browser can't use a camera here (it needs HTTPS). Text chat still works.");
    return;
  }
  const attempts = [
    { video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true },
    { video: false, audio: true },
    { video: true, audio: false },
  ];
  let lastError = null;
  for (const constraints of attempts) {
    try {
      state.localStream = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (error) {
      lastError = error;
      // A refusal covers every device; asking again for less would just nag.
      if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) break;
    }
  }
  if (!state.localStream) {
    const refused = lastError && (lastError.name === "NotAllowedError" || lastError.name === "SecurityError");
    mediaUnavailable(
      refused
        ? "Camera and microphone are blocked, so you're in text-only mode. Allow them in your browser's site settings and press Stop, then Start, to use video."
        : "No camera or microphone found, so you're in text-only mode.",
    );
    return;
  }
  els.root.classList.remove("no-media");
  els.localOff.hidden = state.localStream.getVideoTracks().length > 0;
  attachStream(els.localVideo, state.localStream);
  if (state.localStream.getAudioTracks().length === 0) toast("No microphone: your partner won't hear you.", "warn");
  if (state.localStream.getVideoTracks().length === 0) toast("No camera: your partner won't see you.", "warn");
}

function mediaUnavailable(message) {
  els.root.classList.add("no-media");
  els.localOff.hidden = false;
  toast(message, "warn", 8000);
  addChatLine("system", message);
}

function stopMedia() {
  if (state.localStream) for (const track of state.localStream.getTracks()) track.stop();
  state.localStream = null;
  detachStream(els.localVideo);
  els.localOff.hidden = false;
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
  setOverlay("Connecting video…");
  peer.start().catch((error) => {
    console.warn("could not start the call", error);
    onPeerState("failed");
  });
  const early = state.earlySignals.filter((d) => !d.match_id || d.match_id === frame.match_id);
  state.earlySignals = [];
  for (const data of early) peer.handleSignal(data);
}

function onPeerState(peerState) {
  const name = state.match ? state.match.partnerName : "your partner";
  if (peerState === "connected") {
    const hasVideo = state.peer && state.peer.remoteStream.getVideoTracks().length > 0;
    setOverlay(hasVideo ? "" : `${name} has no camera on. Text chat is open.`);
    setStatus(`Connected with ${name}`, "ok");
  } else if (peerState === "reconnecting") {
    setStatus(`Video connection with ${name} is unstable, reconnecting…`, "busy");
  } else if (peerState === "restarting") {
    setStatus(`Video connection failed, trying once more…`, "busy");
    setOverlay("Retrying video…");
  } else if (peerState === "failed") {
    const text = `Video couldn't connect: the network between you and ${name} blocks it. Text chat still works, or press Next.`;
    setStatus(text, "error");
    setOverlay("Video couldn't connect. Text chat still works.");
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

// The partner card stays after a match ends so the partner can still be liked; it goes with the
// next search (forgetPartner).
function endMatch() {
  if (state.match) state.lastMatchId = state.match.id;
  state.match = null;
  teardownPeer();
}

// ---- actions -----------------------------------------------------------------------

// What a join asks for; comparing it tells whether Next must re-join with new preferences.
function preferencesKey() {
  return `${state.interests.join(",")}|${state.lang}`;
}

function readInterests() {
  state.interests = parseInterests(els.interests.value, config.interest);
  state.lang = els.lang.value;
  try {
    localStorage.setItem(INTERESTS_STORAGE_KEY, state.interests.join(", "));
  } catch {
    // private mode: remembering is a nicety
  }
  return state.interests;
}

function forgetPartner() {
  state.lastMatchId = null;
  clearPartner();
}

function sendJoin() {
  state.joinPending = true;
  const frame = { type: "join", interests: state.interests };
  if (state.lang) frame.lang = state.lang;
  socket.send(frame);
  state.joinedWith = preferencesKey();
  forgetPartner();
  go("looking");
  showLooking();
}

async function start() {
  if (state.wantActive) return;
  readInterests();
  state.wantActive = true;
  go("starting");
  setStatus("Starting your camera…", "busy");
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
  if (socket.isOpen) {
    sendJoin();
  } else {
    setStatus("Connecting to Seendr…", "busy");
    socket.retryNow();
  }
}

function next() {
  if (!state.wantActive || !socket.isOpen) return;
  readInterests();
  const changed = preferencesKey() !== state.joinedWith;
  if (state.phase === "matched") {
    endMatch();
    if (changed) {
      socket.send({ type: "leave" });
      sendJoin();
    } else {
      state.joinPending = true;
      socket.send({ type: "next" });
      forgetPartner();
      go("looking");
      showLooking();
    }
    addChatLine("system", "You left the chat.");
  } else if (state.phase === "ended" || (state.phase === "looking" && changed)) {
    sendJoin();
  }
}

function stop() {
  state.wantActive = false;
  state.joinPending = false;
  socket.send({ type: "leave" });
  endMatch();
  stopMedia();
  forgetPartner();
  go("idle");
  setStatus("Stopped. Press Start when you're ready.", "info");
  setOverlay("Press Start to meet someone.");
}

function sendChat() {
  const text = els.chatInput.value.trim();
  if (!text || state.phase !== "matched") return;
  if (text.length > CHAT_MAX) {
    toast(`Messages are at most ${CHAT_MAX} characters.`, "warn");
    return;
  }
  if (!socket.send({ type: "chat", text })) {
    toast("Not connected: message not sent.", "error");
    return;
  }
  addChatLine("me", text);
  els.chatInput.value = "";
  els.chatInput.focus();
}

// ---- server frames -----------------------------------------------------------------

const handlers = {
  hello(frame) {
    setOnline(frame.online);
    if (Array.isArray(frame.ice_servers)) state.iceServers = frame.ice_servers;
    if (state.wantActive && !state.mediaPending) {
      sendJoin();
    } else if (!state.wantActive && state.phase === "idle") {
      setStatus("Ready when you are. Type what you're into and press Start.", "info");
    }
  },
  queued() {
    state.joinPending = false;
    if (state.phase !== "looking") go("looking");
    showLooking();
  },
  matched(frame) {
    state.joinPending = false;
    teardownPeer();
    const partner = frame.partner || {};
    const name = String(partner.name || "Stranger");
    state.match = { id: String(frame.match_id), partnerName: name, initiator: Boolean(frame.initiator) };
    state.lastMatchId = state.match.id;
    resetLike();
    go("matched");
    showPartner(partner, frame.common_interests);
    clearChat();
    const common = (frame.common_interests || []).map(String);
    addChatLine(
      "system",
      common.length ? `You're talking with ${name}. You both like ${common.join(", ")}.` : `You're talking with ${name}.`,
    );
    setStatus(`Connected with ${name}`, "ok");
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
    if (typeof frame.text === "string") addChatLine("them", frame.text);
  },
  partner_left(frame) {
    const name = state.match ? state.match.partnerName : "Stranger";
    endMatch();
    go("ended");
    const why = {
      disconnect: `${name} left (connection lost).`,
      banned: `${name} left (removed by moderators).`,
    }[frame.reason];
    const text = why || `${name} left.`;
    setStatus(`${text} Press Next to meet someone new.`, "warn");
    setOverlay(`${text} Press Next (Esc) to meet someone new.`);
    addChatLine("system", text);
  },
  left() {
    // Our own Stop (or a leave before re-joining with new interests); stop() already updated the page.
  },
  liked() {
    state.likedMatchId = state.lastMatchId;
    markLiked();
    toast("Liked! They'll know.", "ok");
  },
  you_were_liked() {
    const name = state.match ? state.match.partnerName : "Your last partner";
    toast(`♥ ${name} liked you!`, "ok", 5000);
  },
  reported() {
    afterModeration("Reported. Thanks: you won't meet them again.");
  },
  blocked() {
    afterModeration("Blocked: you won't meet them again.");
  },
  online(frame) {
    setOnline(frame.count);
  },
  error(frame) {
    const message = String(frame.message || "Something went wrong.");
    if (frame.code === "not_matched") return; // a late signal after the partner left
    if (frame.code === "rate_limited") {
      const wait = Math.max(1, Math.ceil(Number(frame.retry_after) || 1));
      toast(`${message} Try again in ${wait} s.`, "warn", Math.min(10000, wait * 1000 + 2000));
    } else {
      toast(message, "error");
    }
    if (state.joinPending && frame.code !== "rate_limited") {
      // The server refused the join (e.g. matching is down): let the user try again.
      state.joinPending = false;
      state.wantActive = false;
      go("idle");
      setStatus(`Couldn't start: ${message}`, "error");
    }
  },
};

function afterModeration(text) {
  if (state.phase === "matched") {
    endMatch();
    go("ended");
    setStatus(`${text} Press Next to meet someone new.`, "info");
    setOverlay("Press Next (Esc) to meet someone new.");
  }
  state.lastMatchId = null; // no liking someone just reported or blocked
  go(state.phase);
  toast(text, "ok");
  addChatLine("system", text);
}

socket.addEventListener("message", (event) => {
  const frame = event.detail.frame;
  const handler = handlers[frame.type];
  if (handler) handler(frame);
});

socket.addEventListener("open", (event) => {
  if (event.detail.attempt > 0 && state.everConnected) toast("Reconnected.", "ok");
  state.everConnected = true;
});

socket.addEventListener("reconnecting", (event) => {
  const { attempt, delayMs } = event.detail;
  const seconds = Math.max(1, Math.round(delayMs / 1000));
  const what = state.everConnected ? "Connection lost" : "Can't reach Seendr";
  setStatus(`${what}. Reconnecting in ${seconds} s (attempt ${attempt})…`, "warn");
});

socket.addEventListener("closed", (event) => {
  const { code, final } = event.detail;
  // The server ends our match when the socket goes; keep the wish to chat, drop the call.
  if (state.match) {
    endMatch();
    addChatLine("system", "Connection lost: the chat ended.");
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
    setStatus("You can't use the chat: this account is banned, or the page was opened from a site that isn't allowed.", "error");
    setOverlay("Chat is not available for this account.");
  } else if (code === CLOSE_OTHER_TAB) {
    setStatus("Seendr is open in another tab, so this one stopped. Reload to chat here instead.", "error");
    setOverlay("Opened in another tab.");
  }
});

// ---- DOM events --------------------------------------------------------------------

els.controls.addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.wantActive) next();
  else start();
});
els.next.addEventListener("click", next);
els.stop.addEventListener("click", stop);
els.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendChat();
});
els.like.addEventListener("click", () => {
  if (socket.send({ type: "like" })) els.like.disabled = true;
});
els.block.addEventListener("click", () => socket.send({ type: "block" }));
els.report.addEventListener("click", () => {
  els.reportForm.reset();
  els.reportDialog.returnValue = ""; // else Esc would repeat the last choice
  els.reportDialog.showModal();
});
els.reportDialog.addEventListener("close", () => {
  if (els.reportDialog.returnValue !== "report") return;
  const frame = { type: "report", reason: els.reportReason.value };
  const note = els.reportNote.value.trim();
  if (note) frame.note = note.slice(0, LIMITS.report_note);
  socket.send(frame);
});
els.unmute.addEventListener("click", () => {
  els.remoteVideo.muted = false;
  els.unmute.hidden = true;
  els.remoteVideo.play().catch(() => {});
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || els.reportDialog.open) return;
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

if (!els.interests.value) {
  try {
    els.interests.value = localStorage.getItem(INTERESTS_STORAGE_KEY) || "";
  } catch {
    // ignore
  }
}
go("idle");
els.localOff.hidden = false;
setStatus("Connecting to Seendr…", "busy");
socket.connect();
