// A still of the partner's video for a nudity report: a small JPEG, base64 without the data: prefix,
// within the server's cap (moderation/snapshots.py) so the report frame stays under 64 KiB.

export const SNAPSHOT_MAX_BYTES = 40_000;
const SIDES = [480, 320, 200]; // longest side in pixels, tried in order until the JPEG fits
const QUALITIES = [0.7, 0.5];

export function snapshotJpeg(video) {
  if (!video || video.readyState < 2 || !video.videoWidth || !video.videoHeight) return null;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d");
  for (const side of SIDES) {
    const scale = Math.min(1, side / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
    canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    for (const quality of QUALITIES) {
      const base64 = canvas.toDataURL("image/jpeg", quality).split(",", 2)[1] || "";
      if (base64 && (base64.length * 3) / 4 <= SNAPSHOT_MAX_BYTES) return base64;
    }
  }
  return null;
}
