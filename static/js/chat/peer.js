// One WebRTC call with one partner. The initiator (chosen by the server) makes every offer,
// so there is never glare. Signals travel through the chat socket as opaque `data` objects:
//   {sdp: RTCSessionDescriptionInit} | {candidate: RTCIceCandidateInit} | {restart: true}
//
// Events (CustomEvent, detail shown):
//   "remote-stream" {stream}
//   "state"         {state}  one of connecting, connected, reconnecting, restarting, failed, closed

const CONNECT_TIMEOUT_MS = 20000; // ICE that has not connected by then counts as failed
const DISCONNECTED_GRACE_MS = 5000;

export class Peer extends EventTarget {
  constructor({ iceServers, initiator, localStream, sendSignal, connectTimeoutMs = CONNECT_TIMEOUT_MS }) {
    super();
    this.connectTimeoutMs = connectTimeoutMs;
    this.initiator = initiator;
    this.localStream = localStream;
    this.sendSignal = sendSignal;
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.tracksAdded = false;
    this.restarted = false;
    this.closed = false;
    this.everConnected = false;
    this.connectTimer = null;
    this.graceTimer = null;
    this.state = "new";

    this.pc.addEventListener("icecandidate", (event) => {
      if (event.candidate) this.sendSignal({ candidate: event.candidate.toJSON() });
    });
    this.pc.addEventListener("track", (event) => {
      if (!this.remoteStream.getTracks().includes(event.track)) this.remoteStream.addTrack(event.track);
      this.emit("remote-stream", { stream: this.remoteStream });
    });
    this.pc.addEventListener("connectionstatechange", () => this.onConnectionState());
  }

  async start() {
    this.setState("connecting");
    this.armConnectTimer();
    if (!this.initiator) return; // the answerer waits for the offer
    this.addLocalTracks();
    await this.makeOffer({});
  }

  addLocalTracks() {
    if (this.tracksAdded) return;
    this.tracksAdded = true;
    const tracks = this.localStream ? this.localStream.getTracks() : [];
    for (const track of tracks) this.pc.addTrack(track, this.localStream);
    // Without a camera we still want to see and hear the partner.
    const kinds = new Set(tracks.map((t) => t.kind));
    for (const kind of ["audio", "video"]) {
      if (!kinds.has(kind) && this.initiator) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }

  async makeOffer(options) {
    const offer = await this.pc.createOffer(options);
    if (this.closed) return;
    await this.pc.setLocalDescription(offer);
    this.sendSignal({ sdp: this.pc.localDescription.toJSON() });
  }

  async handleSignal(data) {
    if (this.closed || !data || typeof data !== "object") return;
    try {
      if (data.sdp) {
        await this.onDescription(data.sdp);
      } else if (data.candidate) {
        if (this.pc.remoteDescription) {
          await this.pc.addIceCandidate(data.candidate);
        } else {
          this.pendingCandidates.push(data.candidate);
        }
      } else if (data.restart && this.initiator) {
        await this.restartIce();
      }
    } catch (error) {
      // A bad or stale signal must not take the page down; ICE failure handling covers the rest.
      console.warn("signal ignored", error);
    }
  }

  async onDescription(description) {
    if (description.type === "offer") {
      if (this.initiator) return; // only the initiator offers; ignore anything else
      await this.pc.setRemoteDescription(description);
      this.addLocalTracks();
      await this.flushCandidates();
      const answer = await this.pc.createAnswer();
      if (this.closed) return;
      await this.pc.setLocalDescription(answer);
      this.sendSignal({ sdp: this.pc.localDescription.toJSON() });
    } else if (description.type === "answer") {
      if (!this.initiator || this.pc.signalingState !== "have-local-offer") return;
      await this.pc.setRemoteDescription(description);
      await this.flushCandidates();
    }
  }

  async flushCandidates() {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of queued) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        console.warn("candidate ignored", error);
      }
    }
  }

  onConnectionState() {
    if (this.closed) return;
    const state = this.pc.connectionState;
    if (state === "connected") {
      this.everConnected = true;
      clearTimeout(this.connectTimer);
      clearTimeout(this.graceTimer);
      this.setState("connected");
    } else if (state === "disconnected") {
      // Often a blip (wifi to mobile); give ICE a moment to recover before restarting.
      this.setState("reconnecting");
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.onIceFailure();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      this.onIceFailure();
    }
  }

  armConnectTimer() {
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (!this.closed && this.pc.connectionState !== "connected") this.onIceFailure();
    }, this.connectTimeoutMs);
  }

  async onIceFailure() {
    if (this.closed || this.state === "failed") return;
    if (this.restarted) {
      clearTimeout(this.connectTimer);
      this.setState("failed");
      return;
    }
    if (this.initiator) {
      await this.restartIce();
    } else {
      // Only the initiator offers, so ask it to restart; it answers with an iceRestart offer.
      this.restarted = true;
      this.setState("restarting");
      this.armConnectTimer();
      this.sendSignal({ restart: true });
    }
  }

  async restartIce() {
    if (this.closed || this.restarted) return;
    this.restarted = true;
    this.setState("restarting");
    this.armConnectTimer();
    await this.makeOffer({ iceRestart: true });
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.graceTimer);
    this.pc.close();
    for (const track of this.remoteStream.getTracks()) track.stop();
    this.state = "closed";
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
