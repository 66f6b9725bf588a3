// Friends and direct calls on the chat page: the "Add friend" button, the "wants to stay in
// touch" prompt, placing a call (from /chat/?call=<username>) and the incoming-call prompt.
// Text from other people only ever goes in through textContent.
import { ring } from "./signals.js";
import { setStatus, toast } from "./ui.js";

// gettext/interpolate come from the JavaScript catalog (/jsi18n/) loaded by base.html.
const { gettext, interpolate } = globalThis;
const fmt = (text, values) => interpolate(text, values, true);

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
    if (!state.matchId) setButton(gettext("Add friend"), { enabled: false });
    else if (state.friend) setButton(gettext("Friends ✓"), { enabled: false, done: true });
    else setButton(gettext("Add friend"), { enabled: true });
  }

  button?.addEventListener("click", () => {
    if (socket.send({ type: "friend" })) setButton(gettext("Asking…"), { enabled: false });
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
    if (!socket.send({ type: "call", username })) toast(gettext("Not connected: the call wasn't placed."), "error");
  }

  function cancelCall() {
    socket.send({ type: "leave" });
  }

  async function answer(accept) {
    const call = state.call;
    if (!call) return;
    closeBanner();
    if (accept) {
      setStatus(fmt(gettext("Connecting with %(name)s…"), { name: call.name }), "busy");
      await beforeCall();
    }
    socket.send({ type: "answer", call_id: call.id, accept });
  }

  const ENDED = {
    declined: (name) => fmt(gettext("%(name)s can't talk right now."), { name }),
    timeout: (name) => fmt(gettext("%(name)s didn't answer."), { name }),
    cancelled: (name) => fmt(gettext("%(name)s hung up."), { name }),
    unavailable: (name) => fmt(gettext("%(name)s isn't available any more."), { name }),
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
      state.partnerName = String((frame.partner && frame.partner.name) || gettext("your partner"));
      state.friend = Boolean(frame.friend);
      resetButton();
      if (state.friend) toast(fmt(gettext("You're on a call with your friend %(name)s."), { name: state.partnerName }), "ok");
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
      setButton(gettext("Requested ✓"), { enabled: false });
      const text = state.partnerName
        ? fmt(gettext("Asked %(name)s to stay in touch. If they add you too, you'll be friends."), {
            name: state.partnerName,
          })
        : gettext("Asked them to stay in touch. If they add you too, you'll be friends.");
      toast(text, "ok");
    },
    friend_added(frame) {
      const friend = frame.friend || {};
      const name = String(friend.name || friend.username || gettext("Your partner"));
      state.friend = true;
      resetButton();
      closeBanner();
      toast(fmt(gettext("You and %(name)s are now friends. Find them under Friends."), { name }), "ok", 6000);
    },
    friend_request_received(frame) {
      const from = frame.from || {};
      const name = String(from.name || from.username || gettext("Your partner"));
      if (state.friend) return;
      showBanner({
        text: fmt(gettext("%(name)s wants to stay in touch — add them back?"), { name }),
        actions: [
          actionButton(gettext("Add back"), {
            testid: "friend-accept",
            className: "accept",
            onClick: () => {
              closeBanner();
              socket.send({ type: "friend" });
            },
          }),
          actionButton(gettext("Not now"), { className: "secondary", onClick: closeBanner }),
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
      const name = String(to.name || to.username || gettext("your friend"));
      state.call = { id: String(frame.call_id), role: "caller", name };
      const calling = fmt(gettext("Calling %(name)s…"), { name });
      setStatus(calling, "busy");
      showBanner({
        text: calling,
        actions: [actionButton(gettext("Cancel"), { testid: "call-cancel", className: "secondary", onClick: cancelCall })],
      });
    },
    incoming_call(frame) {
      const from = frame.from || {};
      const name = String(from.name || from.username || gettext("A friend"));
      state.call = { id: String(frame.call_id), role: "callee", name };
      showBanner({
        text: fmt(gettext("%(name)s is calling you."), { name }),
        tone: "incoming",
        actions: [
          actionButton(gettext("Accept"), { testid: "call-accept", className: "accept", onClick: () => answer(true) }),
          actionButton(gettext("Decline"), { testid: "call-decline", className: "danger", onClick: () => answer(false) }),
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
        toast(fmt(gettext("Missed call from %(name)s."), { name: call.name }), "info", 6000);
      }
    },
    error(frame) {
      if (frame.code === "needs_account") {
        if (button && state.matchId) setButton(gettext("Add friend"), { enabled: true });
        showBanner({
          // The server's own words (in the socket's language): they say what needs an account.
          text: String(frame.message || gettext("Friends are for accounts.")),
          actions: [
            actionLink(gettext("Sign up"), "/accounts/signup/", "signup-offer"),
            actionButton(gettext("Not now"), { className: "secondary", onClick: closeBanner }),
          ],
        });
      } else if (frame.code === "not_available" || frame.code === "call_gone") {
        closeBanner();
        state.call = null;
      } else if (frame.code === "window_closed" || frame.code === "not_matched") {
        if (button && button.textContent === gettext("Asking…")) {
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
