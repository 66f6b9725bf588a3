// Cues for a tab in the background: a short tone and a title change when someone is found or
// writes. Sounds can be switched off (remembered); nothing plays while the tab is in front.

const SOUND_KEY = "seendr.sounds";
const baseTitle = document.title;
let unseen = 0;
let audio = null;

export function soundsOn() {
  try {
    return localStorage.getItem(SOUND_KEY) !== "off";
  } catch {
    return true;
  }
}

export function setSoundsOn(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    // private mode: the choice lasts for this page only
  }
}

function tone(frequency) {
  if (!soundsOn()) return;
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch {
    // no audio output: the title change still tells
  }
}

/** One ring of an incoming call: two short tones, in front or not (honours the sound switch). */
export function ring() {
  tone(880);
  setTimeout(() => tone(660), 250);
}

/** kind: "matched" or "message". Only acts while the tab is hidden. */
export function backgroundCue(kind, text) {
  if (!document.hidden) return;
  unseen += 1;
  document.title = `(${unseen}) ${text} · Seendr`;
  tone(kind === "matched" ? 880 : 660);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    unseen = 0;
    document.title = baseTitle;
  }
});
