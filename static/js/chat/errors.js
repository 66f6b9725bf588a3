// The chat page's wording of each server error code. Server frames carry a stable `code` (and a
// `message` for other clients); the page words them itself, in the language of its catalog.
const { gettext, interpolate } = globalThis;

const WORDING = {
  bad_json: () => gettext("The page sent something the server could not read. Reload the page."),
  bad_field: () => gettext("The page sent something the server could not accept. Reload the page."),
  too_large: () => gettext("That was too long to send."),
  unknown_type: () => gettext("This page is out of date. Reload it."),
  rate_limited: (frame) =>
    interpolate(gettext("Slow down: try again in %(seconds)s s."), { seconds: retryAfter(frame) }, true),
  not_matched: () => gettext("You are not in a chat right now."),
  already_matched: () => gettext("You are already in a chat: press Next or Stop first."),
  not_in_pool: () => gettext("Press Start first."),
  unavailable: () => gettext("Matching is temporarily unavailable. Try again shortly."),
  internal: () => gettext("Something went wrong on our side."),
  banned: () => gettext("This account is banned."),
  too_many_sockets: () => gettext("Too many chats are open from your network. Close one and try again."),
  self_like: () => gettext("You cannot like yourself."),
  self_report: () => gettext("You cannot report yourself."),
  bad_snapshot: () => gettext("The picture could not be attached to the report."),
};

export function retryAfter(frame) {
  return Math.max(1, Math.ceil(Number(frame.retry_after) || 1));
}

// The text to show for an `error` frame: ours for every code we know, else the server's own
// (already in the socket's language), else a generic line.
export function errorText(frame) {
  const word = WORDING[frame.code];
  if (word) return word(frame);
  if (typeof frame.message === "string" && frame.message) return frame.message;
  return gettext("Something went wrong.");
}
