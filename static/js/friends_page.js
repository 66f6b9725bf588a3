// The friends page: renders GET /api/friends/ and keeps it live by polling (no reload).
// Names come from other people: they only ever go in through textContent.
// gettext/interpolate come from the JavaScript catalog (/jsi18n/) loaded by base.html.
const { gettext, interpolate } = globalThis;
const fmt = (text, values) => interpolate(text, values, true);

const config = JSON.parse(document.getElementById("friends-config").textContent);
const list = document.getElementById("friend-list");
const empty = document.getElementById("friends-empty");
const note = document.getElementById("friends-note");
const csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;

let timer = null;
const removing = new Set();

function statusText(friend) {
  if (friend.in_call) return gettext("In a call");
  return friend.online ? gettext("Online") : gettext("Offline");
}

function friendItem(friend) {
  const li = document.createElement("li");
  li.className = "friend";
  li.dataset.username = friend.username;
  li.dataset.testid = "friend-item";

  const dot = document.createElement("span");
  dot.className = `presence${friend.in_call ? " in-call" : friend.online ? " online" : ""}`;
  dot.setAttribute("aria-hidden", "true");

  const name = document.createElement("a");
  name.className = "friend-name";
  name.href = `/u/${encodeURIComponent(friend.username)}/`;
  name.textContent = friend.name;

  const status = document.createElement("span");
  status.className = "friend-status muted";
  status.dataset.testid = "friend-status";
  status.textContent = statusText(friend);

  const actions = document.createElement("span");
  actions.className = "friend-actions";
  if (friend.online && !friend.in_call) {
    const call = document.createElement("a");
    call.className = "button small";
    call.href = `/chat/?call=${encodeURIComponent(friend.username)}`;
    call.dataset.testid = "call";
    call.textContent = gettext("Call");
    call.setAttribute("aria-label", fmt(gettext("Call %(name)s"), { name: friend.name }));
    actions.append(call);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary small";
  remove.dataset.testid = "remove-friend";
  remove.textContent = gettext("Remove");
  remove.setAttribute("aria-label", fmt(gettext("Remove %(name)s from your friends"), { name: friend.name }));
  remove.disabled = removing.has(friend.username);
  remove.addEventListener("click", () => removeFriend(friend));
  actions.append(remove);

  li.append(dot, name, status, actions);
  return li;
}

function render(friends) {
  list.replaceChildren(...friends.filter((f) => !removing.has(f.username)).map(friendItem));
  empty.hidden = list.childElementCount > 0;
}

function showNote(text) {
  note.textContent = text;
  note.hidden = !text;
}

async function refresh() {
  try {
    const response = await fetch(config.api, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/accounts/login/?next=/friends/");
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    render(body.friends || []);
    showNote("");
  } catch (error) {
    showNote(gettext("Can't reach Seendr right now; the list will update when the connection is back."));
  }
}

async function removeFriend(friend) {
  const question = fmt(gettext("Remove %(name)s from your friends? You will both lose each other."), {
    name: friend.name,
  });
  if (!window.confirm(question)) return;
  removing.add(friend.username);
  refreshSoon(0);
  try {
    const response = await fetch(`${config.api}${encodeURIComponent(friend.username)}/`, {
      method: "DELETE",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status !== 204 && response.status !== 404) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    showNote(fmt(gettext("Couldn't remove %(name)s. Try again."), { name: friend.name }));
  } finally {
    removing.delete(friend.username);
    refreshSoon(0);
  }
}

function refreshSoon(delayMs) {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    refreshSoon(config.pollMs || 4000);
  }, delayMs);
}

render(config.friends || []);
if (!config.available) showNote(gettext("Online status is temporarily unavailable."));
refreshSoon(config.pollMs || 4000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshSoon(0);
});
