// The local camera and microphone: asked for once per session (never in text-only mode),
// muted or hidden by switching the track's `enabled` (the peer keeps sending; the partner gets
// silence or black frames, so the call need not be renegotiated).

const ATTEMPTS = [
  { video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true },
  { video: false, audio: true },
  { video: true, audio: false },
];

function refused(error) {
  return Boolean(error) && (error.name === "NotAllowedError" || error.name === "SecurityError");
}

/**
 * Asks for camera and microphone, settling for less when a device is missing.
 * Resolves to {stream} or {stream: null, reason} with reason "unsupported", "refused" or "missing".
 */
export async function acquireMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, reason: "unsupported" };
  }
  let lastError = null;
  for (const constraints of ATTEMPTS) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints) };
    } catch (error) {
      lastError = error;
      // A refusal covers every device; asking again for less would just nag.
      if (refused(error)) break;
    }
  }
  return { stream: null, reason: refused(lastError) ? "refused" : "missing" };
}

export function isLive(stream) {
  return Boolean(stream) && stream.getTracks().some((track) => track.readyState === "live");
}

export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** Turns the stream's tracks of one kind on or off; returns whether there was any to switch. */
export function setTracksEnabled(stream, kind, enabled) {
  const tracks = !stream ? [] : kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
  for (const track of tracks) track.enabled = enabled;
  return tracks.length > 0;
}
