// Friends and direct calls on the chat page: the "Add friend" button, the "wants to stay in
// touch" prompt, placing a call (from /chat/?call=<username>) and the incoming-call prompt.
// Text from other people only ever goes in through textContent.
import { ring } from "./signals.js";
import { setStatus, toast } from "./ui.js";

const WINDOW_MS = 10 * 60 * 1000; // the server's FRIEND_REQUEST_WINDOW_SECONDS

/**
 * Wire friends and calls into the page.
 * @param {{socket: EventTarget & {send(frame: object): boolean}, beforeCall: () => Promise<void>}} deps
 *   beforeCall: get the camera ready (a call starts video at once).
 */
export function installFriends({ socket, beforeCall }) {
  const button = document.getElementById("friend");
  const state = {
    matchId: null, // the match the button is about (current or just ended)
    endedAt: null,
    partnerName: "",
    friend: false, // already friends with this partner
    call: null, // {id, role: "caller"|"callee", name}
  };
  let banner = null;
  let ringer = null;
  let windowTimer = null;

  // ---- the Add friend button ------------------------------------------------------------

  function setButton(text, { enabled, done = false }) {
    if (!button) return;
    button.textContent = text;
    button.disabled = !enabled;
    button.classList.toggle("done", done);
  }

  function resetButton() {
    clearTimeout(windowTimer);
    if (!state.matchId) setButton("Add friend", { enabled: false });
    else if (state.friend) setButton("Friends ✓", { enabled: false, done: true });
    else setButton("Add friend", { enabled: true });
  }

  button?.addEventListener("click", () => {
    if (socket.send({ type: "friend" })) setButton("Asking…", { enabled: false });
  });

  // ---- banners (call prompts, sign-up offer, "add them back?") ---------------------------

  function closeBanner() {
    stopRinging();
    banner?.remove();
    banner = null;
  }

  function showBanner({ text, tone = "", actions = [] }) {
    closeBanner();
    banner = document.createElement("div");
    banner.className = `call-banner ${tone}`.trim();
    banner.setAttribute("role", tone === "incoming" ? "alertdialog" : "status");
    banner.dataset.testid = "call-banner";
    const p = document.createElement("p");
    p.textContent = text;
    const buttons = document.createElement("div");
    buttons.className = "call-buttons";
    for (const action of actions) buttons.append(action);
    banner.append(p, buttons);
    document.body.append(banner);
    return banner;
  }

  function actionButton(text, { testid, className = "", onClick }) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.className = className;
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    return b;
  }

  function actionLink(text, href, testid) {
    const a = document.createElement("a");
    a.className = "button";
    a.href = href;
    a.textContent = text;
    if (testid) a.dataset.testid = testid;
    return a;
  }

  // The ring repeats until the call is answered, declined or over; the sound switch of the page
  // applies (signals.js), and the prompt is visible either way.
  function startRinging() {
    stopRinging();
    ring();
    ringer = setInterval(ring, 1500);
  }

  function stopRinging() {
    clearInterval(ringer);
    ringer = null;
  }

  // ---- placing a call -------------------------------------------------------------------

  async function placeCall(username) {
    await beforeCall();
    if (!socket.send({ type: "call", username })) toast("Not connected: the call wasn't placed.", "error");
  }

  function cancelCall() {
    socket.send({ type: "leave" });
  }

  async function answer(accept) {
    const call = state.call;
    if (!call) return;
    closeBanner();
    if (accept) {
      setStatus(`Connecting with ${call.name}…`, "busy");
      await beforeCall();
    }
    socket.send({ type: "answer", call_id: call.id, accept });
  }

  const ENDED = {
    declined: (name) => `${name} can't talk right now.`,
    timeout: (name) => `${name} didn't answer.`,
    cancelled: (name) => `${name} hung up.`,
    unavailable: (name) => `${name} isn't available any more.`,
  };

  // ---- server frames --------------------------------------------------------------------

  const handlers = {
    hello() {
      const params = new URLSearchParams(window.location.search);
      const username = params.get("call");
      if (!username) return;
      // Only once: a reload or a reconnect must not ring again.
      params.delete("call");
      const rest = params.toString();
      window.history.replaceState(null, "", `${window.location.pathname}${rest ? `?${rest}` : ""}`);
      placeCall(username);
    },
    matched(frame) {
      closeBanner();
      state.call = null;
      state.matchId = String(frame.match_id);
      state.endedAt = null;
      state.partnerName = String((frame.partner && frame.partner.name) || "your partner");
      state.friend = Boolean(frame.friend);
      resetButton();
      if (state.friend) toast(`You're on a call with your friend ${state.partnerName}.`, "ok");
    },
    partner_left() {
      if (!state.matchId || state.friend) return;
      // The button stays for the request window after the call.
      state.endedAt = Date.now();
      clearTimeout(windowTimer);
      windowTimer = setTimeout(() => {
        state.matchId = null;
        resetButton();
      }, WINDOW_MS);
    },
    queued() {
      // A new search: the old partner's card (and its button) is gone.
      if (state.matchId && state.endedAt !== null) {
        state.matchId = null;
        resetButton();
      }
    },
    blocked() {
      // Nobody befriends someone they just blocked or reported.
      state.matchId = null;
      resetButton();
    },
    reported() {
      state.matchId = null;
      resetButton();
    },
    friend_requested() {
      setButton("Requested ✓", { enabled: false });
      toast(`Asked ${state.partnerName || "them"} to stay in touch. If they add you too, you'll be friends.`, "ok");
    },
    friend_added(frame) {
      const friend = frame.friend || {};
      const name = String(friend.name || friend.username || "Your partner");
      state.friend = true;
      resetButton();
      closeBanner();
      toast(`You and ${name} are now friends. Find them under Friends.`, "ok", 6000);
    },
    friend_request_received(frame) {
      const from = frame.from || {};
      const name = String(from.name || from.username || "Your partner");
      if (state.friend) return;
      showBanner({
        text: `${name} wants to stay in touch — add them back?`,
        actions: [
          actionButton("Add back", {
            testid: "friend-accept",
            className: "accept",
            onClick: () => {
              closeBanner();
              socket.send({ type: "friend" });
            },
          }),
          actionButton("Not now", { className: "secondary", onClick: closeBanner }),
        ],
      });
    },
    friend_removed() {
      if (state.friend) {
        state.friend = false;
        resetButton();
      }
    },
    ringing(frame) {
      const to = frame.to || {};
      const name = String(to.name || to.username || "your friend");
      state.call = { id: String(frame.call_id), role: "caller", name };
      setStatus(`Calling ${name}…`, "busy");
      showBanner({
        text: `Calling ${name}…`,
        actions: [actionButton("Cancel", { testid: "call-cancel", className: "secondary", onClick: cancelCall })],
      });
    },
    incoming_call(frame) {
      const from = frame.from || {};
      const name = String(from.name || from.username || "A friend");
      state.call = { id: String(frame.call_id), role: "callee", name };
      showBanner({
        text: `${name} is calling you.`,
        tone: "incoming",
        actions: [
          actionButton("Accept", { testid: "call-accept", className: "accept", onClick: () => answer(true) }),
          actionButton("Decline", { testid: "call-decline", className: "danger", onClick: () => answer(false) }),
        ],
      });
      startRinging();
    },
    call_ended(frame) {
      const call = state.call;
      state.call = null;
      closeBanner();
      if (!call) return;
      const reason = String(frame.reason || "");
      if (call.role === "caller") {
        const text = (ENDED[reason] || ENDED.unavailable)(call.name);
        setStatus(text, "warn");
        toast(text, "warn");
      } else if (reason !== "declined") {
        toast(`Missed call from ${call.name}.`, "info", 6000);
      }
    },
    error(frame) {
      if (frame.code === "needs_account") {
        if (button && state.matchId) setButton("Add friend", { enabled: true });
        showBanner({
          text: String(frame.message || "Friends are for accounts."),
          actions: [
            actionLink("Sign up", "/accounts/signup/", "signup-offer"),
            actionButton("Not now", { className: "secondary", onClick: closeBanner }),
          ],
        });
      } else if (frame.code === "not_available" || frame.code === "call_gone") {
        closeBanner();
        state.call = null;
      } else if (frame.code === "window_closed" || frame.code === "not_matched") {
        if (button && button.textContent === "Asking…") {
          state.matchId = null;
          resetButton();
        }
      }
    },
  };

  socket.addEventListener("message", (event) => {
    const frame = event.detail.frame;
    const handler = handlers[frame.type];
    if (handler) handler(frame);
  });
  socket.addEventListener("closed", () => {
    if (state.call) {
      state.call = null;
      closeBanner();
    }
  });
  resetButton();
}
