--[[
match.lua: in one atomic step, pair the caller with the best compatible waiting ticket, or
add/refresh the caller's ticket in the pool. Called by matching.pool.join (mode "join") and
matching.pool.retry (mode "retry": preferences come from the stored ticket).

Key layout (T = ARGV[1], the pool prefix ending in the {pool} hash tag, keys.pool_tag()):
  T.."waiting"            set of every waiting identity id (counts; sampled at stage "anyone")
  T.."interest:"..tag     set of waiting ids per interest tag (every ticket with that tag)
  T.."lang:"..code        set of waiting ids per language, holding only tickets that reached
                          stage "language" or "anyone": stage-0 tickets are found through their
                          interest sets, and only wider stages sample this set. A ticket joins it
                          on the retry at its stage boundary (or at once, without interests).
  T.."ticket:"..id        string, tab separated (TTL):
                          joined ,ints, lang country olang ocountry band ch recent card
                          (ints wrapped in commas, "" for none; recent: the owner's recent
                          partners when it joined, see recent:..id, so a candidate's cooldown
                          needs no read of its own; card, the public card as JSON, is last)
  T.."current:"..id       string: match id the identity is in                          (TTL)
  T.."match:"..mid        hash: a b chan_a chan_b started_at common stage wait_a wait_b
                          card_a (the initiator's card, for the passive side)          (TTL)
  T.."recent:"..id        string ";id=at;id=at": the last partners and when (cooldown)  (TTL)
  T.."blocks:"..id        set: ids this identity blocked (read only, profiles writes it)
  T.."banned"             zset: id -> ban expiry (read only, moderation writes it)
Keys of the caller are declared; keys of sampled candidates and of tag/lang sets are built here
from T, so every key shares the hash tag (one Redis Cluster slot). Everything here is rebuilt by
the next joins: a lost pool costs waiting sockets one retry. During a rolling deploy a ticket in
an older layout fails the filters and matches no one until its socket joins again.

KEYS[1] caller ticket        KEYS[2] caller current     KEYS[3] caller recent
KEYS[4] banned zset          KEYS[5] caller blocks      KEYS[6] waiting set
KEYS[7] live matches zset    KEYS[8] waits-per-minute list (two waits per match formed:
                                     matching.stats counts matches from its length)
join only: KEYS[9..] the caller's interest sets, in the order of ARGV[17..]

ARGV[1] T                    ARGV[2] "join" | "retry"   ARGV[3] caller id
ARGV[4] now (unix seconds)   ARGV[5] fresh match id     ARGV[6] ticket TTL (s), on join
ARGV[7] current-match TTL    ARGV[8] interest-stage s   ARGV[9] anyone-stage s
ARGV[10] sample per set      ARGV[11] cooldown s        ARGV[12] recent partners kept
ARGV[13] stats TTL
join only: ARGV[14] "ints\tlang\tcountry\tolang\tocountry\tband\tch" (ints as in the ticket)
           ARGV[15] the caller's card (JSON, may be empty)
           ARGV[16] the network the caller comes from ("-" unknown), whose ban this call checks
                    with the ban mirror's readiness; "" when the caller has just asked Postgres
           ARGV[17..] the caller's interests, each wrapped in commas (",tag,")

Returns one of (numbers as strings: Redis would truncate Lua floats):
  {"matched", mid, partner, partner_channel, "a,b common", stage, started_at, my_wait, partner_wait,
   partner_card}
  {"queued", stage, my_wait, waiting}           waiting = members of the waiting set now
  {"already", mid, partner, partner_channel, "a,b common", stage, started_at, my_wait, partner_wait,
   partner_card, initiator "1"/"0", my_channel}  caller is in a live match
  {"banned", until}                             caller is banned (its ticket is removed)
  {"check_bans"}                                join only, nothing changed: the ban mirror is not
                                                ready, or an account's network is banned (the ban
                                                may predate the account): Postgres decides
  {"gone"}                                      retry without a ticket

Stages: 0 interest, 1 language, 2 anyone, from each side's own wait; a stage the ticket cannot
use is skipped (no interests -> never 0, no lang -> never 1). A pair's quality is 0 (a shared
interest, and the same language unless either side left it open), 1 (same non-empty language)
or 2; it forms only if quality <= stage for BOTH sides. Among equals the same language wins.

Cost, per call: one MGET for the caller's own keys (ticket, current match, recent partners) (a
join adds one EXISTS and one ZSCORE: the ban mirror's readiness, the network's ban), one
SRANDMEMBER per usable set (its interest sets, at most 10, its language set, the waiting set), one
MGET of every sampled ticket, one ZMSCORE of the bans of the caller and the compatible candidates
(ZSCORE when there are none), one SMISMEMBER of the caller's blocks, and one SISMEMBER (the
candidate's blocks) per candidate tried. A queued join writes its ticket, the waiting set and its
interest sets; a queued retry writes at most its language set. Nothing grows with the pool.
Tickets are read with one pattern each; the fields only the chosen partner needs (channel,
recent partners, card) are read for it alone.
]]

local T = ARGV[1]
local mode = ARGV[2]
local me = ARGV[3]
local now_s = ARGV[4]
local now = tonumber(now_s)
local interest_s = tonumber(ARGV[8])
local anyone_s = tonumber(ARGV[9])
local call, find, match, sub = redis.call, string.find, string.match, string.sub
local STAGE_NAMES = { [0] = "interest", "language", "anyone" }
-- Every function, table and new string is an allocation Redis' Lua pays for on each call (and
-- collects later): helpers that only some paths need are made in those paths.

-- joined ,ints, lang country olang ocountry band, then the position of ch (the rest is read lazily).
local HEAD = "^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t()"
local REST = "^([^\t]*)\t([^\t]*)\t?(.*)$" -- ch, recent, card

-- The stage a ticket is at after waiting since ``joined`` (skipping the stages it cannot use).
local function stage_of(joined, ints, lang)
  local wait = now - joined
  if wait >= anyone_s then
    return 2
  end
  if wait >= interest_s or ints == "" then
    return lang == "" and 2 or 1
  end
  return 0
end

-- Removes an identity from every pool set its ticket is in (",a,b," interests; its language set
-- only past stage 0), and the ticket itself.
local function unqueue(id, tkey, ints, lang, stage)
  call("SREM", KEYS[6], id)
  local p = 2
  while true do
    local e = find(ints, ",", p, true)
    if not e then
      break
    end
    call("SREM", T .. "interest:" .. sub(ints, p, e - 1), id)
    p = e + 1
  end
  if stage > 0 and lang ~= "" then
    call("SREM", T .. "lang:" .. lang, id)
  end
  call("DEL", tkey)
end

-- 1. The caller itself: already in a live match (or banned, checked below with the candidates)?
local own = call("MGET", KEYS[1], KEYS[2], KEYS[3])
local old_raw, cur, my_recent = own[1], own[2], own[3]
local o_joined, o_ints, o_lang, o_country, o_olang, o_ocountry, o_band, o_rest
if old_raw then
  o_joined, o_ints, o_lang, o_country, o_olang, o_ocountry, o_band, o_rest = match(old_raw, HEAD)
  if not o_joined then
    o_joined, o_ints, o_lang, o_rest = now_s, "", "", nil
  end
end

-- A join answers for the caller's network too (the caller's own ban is read below): a guest on
-- a banned network is refused here; an account there, or a mirror that cannot vouch for its
-- contents, goes to Postgres first (the caller then joins again with ARGV[16] = "").
if mode == "join" and ARGV[16] ~= "" then
  if call("EXISTS", T .. "bans:ready") == 0 then
    return { "check_bans" }
  end
  local net_ban = call("ZSCORE", T .. "bans:networks", ARGV[16])
  if net_ban and tonumber(net_ban) > now then
    if sub(me, 1, 1) ~= "g" then
      return { "check_bans" }
    end
    if old_raw then
      unqueue(me, KEYS[1], o_ints, o_lang, 2)
    end
    return { "banned", net_ban }
  end
end

local ban_checked = false
if cur then
  local ban = call("ZSCORE", KEYS[4], me)
  if ban and tonumber(ban) > now then
    if old_raw then
      unqueue(me, KEYS[1], o_ints, o_lang, 2)
    end
    return { "banned", ban }
  end
  local m = call(
    "HMGET", T .. "match:" .. cur,
    "a", "b", "chan_a", "chan_b", "common", "stage", "started_at", "wait_a", "wait_b", "card_a", "ended_at"
  )
  if m[1] and not m[11] then
    if old_raw then
      unqueue(me, KEYS[1], o_ints, o_lang, 2)
    end
    if m[1] == me then
      return {
        "already", cur, m[2], m[4] or "", m[5] or "", m[6] or "", m[7] or "", m[8] or "0", m[9] or "0", "", "1",
        m[3] or "",
      }
    end
    return {
      "already", cur, m[1], m[3] or "", m[5] or "", m[6] or "", m[7] or "", m[9] or "0", m[8] or "0",
      m[10] or "", "0", m[4] or "",
    }
  end
  call("DEL", KEYS[2])
  ban_checked = true
end

-- The caller's preferences, and its interest sets and tags: isets[ioff + i], wrapped[woff + i]
-- for i = 1..n_ints (a join passes them as KEYS[9..] and ARGV[17..]; a retry reads the ticket).
local joined_s, ints, lang, country, olang, ocountry, band, ch, card
local isets, ioff, wrapped, woff, n_ints
if mode == "retry" then
  if not old_raw then
    return { "gone" }
  end
  joined_s, ints, lang, country, olang, ocountry, band = o_joined, o_ints, o_lang, o_country, o_olang, o_ocountry, o_band
  if o_rest then
    local _
    ch, _, card = match(old_raw, REST, o_rest)
  end
  isets, ioff, wrapped, woff, n_ints = {}, 0, {}, 0, 0
  local p = 2
  while true do
    local e = find(ints, ",", p, true)
    if not e then
      break
    end
    n_ints = n_ints + 1
    isets[n_ints] = T .. "interest:" .. sub(ints, p, e - 1)
    wrapped[n_ints] = sub(ints, p - 1, e)
    p = e + 1
  end
else
  joined_s = old_raw and o_joined or now_s
  ints, lang, country, olang, ocountry, band, ch = match(ARGV[14], "^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  card = ARGV[15]
  isets, ioff, wrapped, woff, n_ints = KEYS, 8, ARGV, 16, #KEYS - 8
end
ch, card, country, olang, ocountry, band = ch or "", card or "", country or "", olang or "", ocountry or "", band or ""
local joined = tonumber(joined_s) or now
local my_stage = stage_of(joined, ints, lang)
local only_lang = olang == "1" and lang ~= ""
local in_lang = my_stage > 0 and lang ~= ""
local lang_set = in_lang and T .. "lang:" .. lang

-- 2. Sample candidates from the sets this stage can use (ids[n] came from set from[n]).
local ids, from, seen, n_ids = nil, nil, nil, 0
local function sample(set_key)
  local got = call("SRANDMEMBER", set_key, ARGV[10])
  if #got == 0 then
    return
  end
  if not ids then
    ids, from, seen = {}, {}, { [me] = true }
  end
  for i = 1, #got do
    local id = got[i]
    if not seen[id] then
      seen[id] = true
      n_ids = n_ids + 1
      ids[n_ids] = id
      from[n_ids] = set_key
    end
  end
end
for i = 1, n_ints do
  sample(isets[ioff + i])
end
if in_lang then
  sample(lang_set)
end
if my_stage >= 2 then
  sample(KEYS[6])
end

-- 3. Keep the compatible ones, best first; Redis-side checks (bans, blocks, cooldown) last.
local cands, n_cands = nil, 0
if n_ids > 0 then
  cands = {}
  local tkeys = {}
  for n = 1, n_ids do
    tkeys[n] = T .. "ticket:" .. ids[n]
  end
  local raw = call("MGET", unpack(tkeys))
  for n = 1, n_ids do
    local s = raw[n]
    if not s then
      -- A ghost: its socket stopped heartbeating. Never handed out; cleaned here, lazily.
      call("SREM", from[n], ids[n])
      if from[n] ~= KEYS[6] then
        call("SREM", KEYS[6], ids[n])
      end
    else
      local tj, ti, tl, tc, tol, toc, tb, rest = match(s, HEAD)
      -- Hard filters, both ways.
      if
        tj
        and not (only_lang and tl ~= lang)
        and not (ocountry ~= "" and tc ~= ocountry)
        and not (tol == "1" and tl ~= "" and lang ~= tl)
        and not (toc ~= "" and country ~= toc)
      then
        local nc = 0
        if ti ~= "" then
          for i = 1, n_ints do
            if find(ti, wrapped[woff + i], 1, true) then
              nc = nc + 1
            end
          end
        end
        local same_lang = tl == lang
        local q = 2
        if nc > 0 and (same_lang or tl == "" or lang == "") then
          q = 0
        elseif tl ~= "" and same_lang then
          q = 1
        end
        local tjoined = tonumber(tj) or now
        if q <= my_stage and q <= stage_of(tjoined, ti, tl) then
          n_cands = n_cands + 1
          cands[n_cands] = {
            id = ids[n], raw = s, rest = rest, tkey = tkeys[n], ints = ti, lang = tl, joined = tjoined, q = q,
            nc = nc, sl = same_lang and 1 or 0, band = (band ~= "" and tb == band) and 1 or 0,
          }
        end
      end
    end
  end
end

if n_cands > 1 then
  table.sort(cands, function(a, b)
    if a.q ~= b.q then
      return a.q < b.q
    end
    if a.sl ~= b.sl then
      return a.sl > b.sl
    end
    if a.nc ~= b.nc then
      return a.nc > b.nc
    end
    if a.band ~= b.band then
      return a.band > b.band
    end
    if a.joined ~= b.joined then
      return a.joined < b.joined
    end
    return a.id < b.id
  end)
end

-- The caller's own ban rides in the same ZMSCORE as the candidates' bans.
local cids, bans
if n_cands > 0 then
  cids = { me }
  for n = 1, n_cands do
    cids[n + 1] = cands[n].id
  end
  bans = call("ZMSCORE", KEYS[4], unpack(cids))
elseif not ban_checked then
  bans = { call("ZSCORE", KEYS[4], me) }
end
if bans and bans[1] and tonumber(bans[1]) > now then
  if old_raw then
    unqueue(me, KEYS[1], o_ints, o_lang, 2)
  end
  return { "banned", bans[1] }
end

-- Whether a recent-partners string (";id=at;id=at") says we met ``id`` less than a cooldown ago.
local best, best_ch, best_recent, best_card
if n_cands > 0 then
  local cooldown = tonumber(ARGV[11])
  local function cooling(recent, id)
    if not recent or recent == "" then
      return false
    end
    local _, e = find(recent, ";" .. id .. "=", 1, true)
    local at = e and tonumber(match(recent, "^[%d%.]+", e + 1))
    return at ~= nil and now - at < cooldown
  end
  local blocked = call("SMISMEMBER", KEYS[5], unpack(cids, 2))
  for n = 1, n_cands do
    local c = cands[n]
    if bans[n + 1] and tonumber(bans[n + 1]) > now then
      unqueue(c.id, c.tkey, c.ints, c.lang, 2)
    elseif blocked[n] == 0 and not cooling(my_recent, c.id) then
      local cch, crecent, ccard = match(c.raw, REST, c.rest)
      if not cooling(crecent, me) and call("SISMEMBER", T .. "blocks:" .. c.id, me) == 0 then
        best, best_ch, best_recent, best_card = c, cch or "", crecent, ccard or ""
        break
      end
    end
  end
end

local function fmt_wait(since)
  local w = now - since
  return w > 0 and string.format("%.3f", w) or "0.000"
end

-- 4a. A match: take both out of the pool, record it for both sides.
if best then
  -- The recent-partners string with ``id`` met now, keeping the last ARGV[12] entries.
  local function remember(recent, id)
    if not recent or recent == "" then
      return ";" .. id .. "=" .. now_s
    end
    local kept = {}
    for other, at in string.gmatch(recent, ";([^=;]+)=([^;]+)") do
      if other ~= id then
        kept[#kept + 1] = ";" .. other .. "=" .. at
      end
    end
    kept[#kept + 1] = ";" .. id .. "=" .. now_s
    return table.concat(kept, "", math.max(1, #kept - tonumber(ARGV[12]) + 1))
  end
  if old_raw then
    unqueue(me, KEYS[1], o_ints, o_lang, stage_of(tonumber(o_joined) or now, o_ints, o_lang))
  end
  unqueue(best.id, best.tkey, best.ints, best.lang, stage_of(best.joined, best.ints, best.lang))
  local common = {}
  for i = 1, n_ints do
    local w = wrapped[woff + i]
    if find(best.ints, w, 1, true) then
      common[#common + 1] = sub(w, 2, -2)
    end
  end
  local mkey = T .. "match:" .. ARGV[5]
  local my_wait = fmt_wait(joined)
  local partner_wait = fmt_wait(best.joined)
  local common_s = table.concat(common, ",")
  local stage_name = STAGE_NAMES[best.q]
  local current_ttl = ARGV[7]
  call(
    "HSET", mkey,
    "a", me, "b", best.id, "chan_a", ch, "chan_b", best_ch, "started_at", now_s,
    "common", common_s, "stage", stage_name, "wait_a", my_wait, "wait_b", partner_wait, "card_a", card
  )
  call("EXPIRE", mkey, current_ttl)
  call("SET", KEYS[2], ARGV[5], "EX", current_ttl)
  call("SET", T .. "current:" .. best.id, ARGV[5], "EX", current_ttl)
  call("ZADD", KEYS[7], now_s, ARGV[5])
  call("SET", KEYS[3], remember(my_recent, best.id), "EX", ARGV[11])
  call("SET", T .. "recent:" .. best.id, remember(best_recent, me), "EX", ARGV[11])
  if call("RPUSH", KEYS[8], my_wait, partner_wait) == 2 then
    call("EXPIRE", KEYS[8], ARGV[13])
  end
  return { "matched", ARGV[5], best.id, best_ch, common_s, stage_name, now_s, my_wait, partner_wait, best_card }
end

-- 4b. No match: a join adds or refreshes the caller's ticket (a second join keeps the first join
-- time) and its set memberships. A retry adds the ticket to its language set once it widened and
-- nothing else: the heartbeat keeps the ticket alive, and its other memberships only go with the
-- ticket itself (a sampled ghost, the sweep, leave), after which a retry answers "gone".
if mode == "join" then
  if old_raw then
    local p = 2
    while true do
      local e = find(o_ints, ",", p, true)
      if not e then
        break
      end
      if not find(ints, sub(o_ints, p - 1, e), 1, true) then
        call("SREM", T .. "interest:" .. sub(o_ints, p, e - 1), me)
      end
      p = e + 1
    end
    if o_lang ~= "" and not (in_lang and o_lang == lang) then
      call("SREM", T .. "lang:" .. o_lang, me)
    end
  end
  call("SET", KEYS[1], joined_s .. "\t" .. ARGV[14] .. "\t" .. (my_recent or "") .. "\t" .. card, "EX", ARGV[6])
  call("SADD", KEYS[6], me)
  for i = 1, n_ints do
    call("SADD", isets[ioff + i], me)
  end
end
if in_lang then
  call("SADD", lang_set, me)
end
return { "queued", STAGE_NAMES[my_stage], fmt_wait(joined), tostring(call("SCARD", KEYS[6])) }
