// The chat WebSocket: JSON frames in and out, heartbeat, and reconnect with backoff.
//
// Events (CustomEvent, detail shown):
//   "open"          {attempt}              socket is up (the server then sends "hello")
//   "message"       {frame}                one parsed server frame
//   "reconnecting"  {attempt, delayMs, code}
//   "closed"        {code, reason, final}  final=true means no reconnect will follow

export const CLOSE_NO_SESSION = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_OTHER_TAB = 4409;
const FINAL_CODES = new Set([CLOSE_NO_SESSION, CLOSE_FORBIDDEN, CLOSE_OTHER_TAB]);

export function backoffDelay(attempt, { baseMs = 500, maxMs = 15000 } = {}) {
  // "Equal jitter": half fixed, half random, so a server restart is not met by a thundering herd
  // yet the wait still grows with every failed attempt.
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export function socketUrl(path, loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}`;
}

export class ChatSocket extends EventTarget {
  constructor(url, { pingIntervalMs = 15000, pongTimeoutMs = 10000 } = {}) {
    super();
    this.url = url;
    this.pingIntervalMs = pingIntervalMs;
    this.pongTimeoutMs = pongTimeoutMs;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      const attempt = this.attempt;
      this.attempt = 0;
      this.startHeartbeat();
      this.emit("open", { attempt });
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== "string") return;
      if (frame.type === "pong") {
        clearTimeout(this.pongTimer);
        return;
      }
      this.emit("message", { frame });
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.onClose(event.code, event.reason);
    });
    // "error" is always followed by "close"; the close handler decides what happens next.
  }

  onClose(code, reason) {
    this.stopHeartbeat();
    this.ws = null;
    const final = this.stopped || FINAL_CODES.has(code);
    this.emit("closed", { code, reason, final });
    if (final) return;
    const delayMs = backoffDelay(this.attempt);
    this.attempt += 1;
    this.emit("reconnecting", { attempt: this.attempt, delayMs, code });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Reconnect now instead of waiting out the backoff (the user asked for it). */
  retryNow() {
    if (this.ws !== null || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    if (this.ws) this.ws.close(1000, "bye");
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      // A half-open TCP connection never fires "close" by itself; a missing pong does it for us.
      this.pongTimer = setTimeout(() => {
        const ws = this.ws;
        if (ws) {
          this.ws = null;
          ws.close();
          this.onClose(1006, "heartbeat timeout");
        }
      }, this.pongTimeoutMs);
    }, this.pingIntervalMs);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
