// Keeps /leaderboard/ fresh without reloads: polls the JSON API every few seconds while the tab
// is visible, switches board/period in place, and renders names with textContent only.

const root = document.getElementById("leaderboard");
// gettext/interpolate come from the JavaScript catalog (/jsi18n/) that base.html loads first.
const { gettext, interpolate } = globalThis;

function formatScore(score, board) {
  if (board !== "talk_time") return String(score);
  const seconds = Math.floor(Number(score) || 0);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hours) return `${hours}h ${pad(minutes)}m`;
  if (minutes) return `${minutes}m ${pad(secs)}s`;
  return `${secs}s`;
}

function row(entry, board, meRank) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "leaderboard-row";
  if (meRank !== null && entry.rank === meRank) tr.className = "me";
  const rank = document.createElement("td");
  rank.textContent = String(entry.rank);
  const name = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/u/${encodeURIComponent(entry.username)}/`;
  link.textContent = entry.display_name;
  name.append(link);
  const score = document.createElement("td");
  score.className = "num";
  score.textContent = formatScore(entry.score, board);
  tr.append(rank, name, score);
  return tr;
}

function render(data) {
  const board = data.board;
  const meRank = data.me && data.me.rank ? data.me.rank : null;
  const rows = document.getElementById("lb-rows");
  if (data.entries.length) {
    rows.replaceChildren(...data.entries.map((e) => row(e, board, meRank)));
  } else {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = document.createElement("td");
    td.colSpan = 3;
    td.className = "muted";
    td.textContent = gettext("Nobody here yet. Be the first!");
    tr.append(td);
    rows.replaceChildren(tr);
  }
  const me = document.getElementById("lb-me");
  if (data.me && meRank) {
    // The same sentence as the page's template: the rank in <strong>, every part as text.
    const values = { rank: meRank, score: formatScore(data.me.score, board) };
    const [before, rank, after] = gettext("You are <strong>#%(rank)s</strong> with %(score)s.")
      .split(/<\/?strong>/)
      .map((part) => interpolate(part, values, true));
    const strong = document.createElement("strong");
    strong.textContent = rank;
    me.replaceChildren(before, strong, after || "");
  } else if (data.me || root.dataset.signedIn === "1") {
    me.textContent = gettext("You are not on this board yet.");
  }
  const aroundWrap = document.getElementById("lb-around-wrap");
  const showAround = data.me && meRank && meRank > data.entries.length && data.me.around.length;
  aroundWrap.hidden = !showAround;
  if (showAround) {
    document.getElementById("lb-around").replaceChildren(...data.me.around.map((e) => {
      const tr = row(e, board, meRank);
      delete tr.dataset.testid;
      return tr;
    }));
  }
}

let etag = null;
let timer = null;

async function refresh() {
  const { board, period } = root.dataset;
  const status = document.getElementById("lb-status");
  try {
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    const response = await fetch(`/api/leaderboard/${encodeURIComponent(board)}/?period=${encodeURIComponent(period)}`, {
      headers, credentials: "same-origin",
    });
    if (response.status === 304) { status.textContent = ""; return; }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    etag = response.headers.get("ETag");
    const data = await response.json();
    if (data.board !== root.dataset.board || data.period !== root.dataset.period) return; // tab changed meanwhile
    render(data);
    status.textContent = "";
  } catch (err) {
    status.textContent = gettext("Could not refresh the leaderboard; retrying…");
  }
}

function schedule() {
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) refresh(); }, Number(root.dataset.pollMs) || 5000);
}

function select(kind, value) {
  root.dataset[kind] = value;
  etag = null;
  for (const tab of root.querySelectorAll(`.lb-tabs a[data-${kind}]`)) {
    const active = tab.dataset[kind] === value;
    tab.classList.toggle("active", active);
    if (active) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  for (const tab of root.querySelectorAll(".lb-tabs a")) {
    const board = tab.dataset.board || root.dataset.board;
    const period = tab.dataset.period || root.dataset.period;
    tab.href = `?board=${encodeURIComponent(board)}&period=${encodeURIComponent(period)}`;
  }
  history.replaceState(null, "", `?board=${encodeURIComponent(root.dataset.board)}&period=${encodeURIComponent(root.dataset.period)}`);
  refresh();
  schedule();
}

if (root) {
  root.addEventListener("click", (event) => {
    const tab = event.target.closest(".lb-tabs a");
    if (!tab) return;
    event.preventDefault();
    if (tab.dataset.board) select("board", tab.dataset.board);
    else if (tab.dataset.period) select("period", tab.dataset.period);
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  schedule();
}
