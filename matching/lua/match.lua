--[[
match.lua: in one atomic step, pair the caller with the best compatible waiting ticket, or
add/refresh the caller's ticket in the pool. Called by matching.pool.join (mode "join") and
matching.pool.retry (mode "retry": preferences come from the stored ticket).

Key layout (T = ARGV[1], the pool prefix ending in the {pool} hash tag, keys.pool_tag()):
  T.."waiting"            set of waiting identity ids
  T.."interest:"..tag     set of waiting ids per interest tag
  T.."lang:"..code        set of waiting ids per language
  T.."ticket:"..id        string, tab separated (TTL):
                          joined ints lang ch country olang ocountry band inst card
                          (card, the public card as JSON, is last and may be empty)
  T.."current:"..id       string: match id the identity is in                          (TTL)
  T.."match:"..mid        hash: a b chan_a chan_b started_at common stage wait_a wait_b
                          card_a (the initiator's card, for the passive side)          (TTL)
  T.."recent:"..id        string ";id=at;id=at": the last partners and when (cooldown)  (TTL)
  T.."blocks:"..id        set: ids this identity blocked (read only, profiles writes it)
  T.."banned"             zset: id -> ban expiry (read only, moderation writes it)
Keys of the caller are declared; keys of sampled candidates and of tag/lang sets are built here
from T, so every key shares the hash tag (one Redis Cluster slot).

KEYS[1] caller ticket        KEYS[2] caller current     KEYS[3] waiting set
KEYS[4] banned zset          KEYS[5] caller recent      KEYS[6] caller blocks
KEYS[7] live matches zset    KEYS[8] matches-per-minute counter
KEYS[9] waits-per-minute list

ARGV[1] T                    ARGV[2] "join" | "retry"   ARGV[3] caller id
ARGV[4] now (unix seconds)   ARGV[5] fresh match id     ARGV[6] ticket TTL (s)
ARGV[7] current-match TTL    ARGV[8] interest-stage s   ARGV[9] anyone-stage s
ARGV[10] sample per set      ARGV[11] cooldown s        ARGV[12] recent partners kept
ARGV[13] stats TTL
join only: ARGV[14] the ticket without its join time: "ints\tlang\tch\tcountry\tolang\tocountry\tband\tinst\tcard"

Returns one of (numbers as strings: Redis would truncate Lua floats):
  {"matched", mid, partner, partner_channel, "a,b common", stage, started_at, my_wait, partner_wait,
   partner_card}
  {"queued", stage, my_wait, waiting}           waiting = members of the waiting set now
  {"already", mid, partner, partner_channel, "a,b common", stage, started_at, my_wait, partner_wait,
   partner_card, initiator "1"/"0", my_channel}  caller is in a live match
  {"banned", until}                             caller is banned (its ticket is removed)
  {"gone"}                                      retry without a ticket

Stages: 0 interest, 1 language, 2 anyone, from each side's own wait; a stage the ticket cannot
use is skipped (no interests -> never 0, no lang -> never 1). A pair's quality is 0 (a shared
interest, and the same language unless either side left it open), 1 (same non-empty language)
or 2; it forms only if quality <= stage for BOTH sides. Among equals the same language wins.

Cost, per call: one MGET for the caller's own keys (ticket, current match, recent partners), one
SRANDMEMBER per usable set (its interest sets, at most 10, its language set, the waiting set), one
MGET of every sampled ticket, and for the compatible ones two batch checks (ZMSCORE banned,
SMISMEMBER blocks) plus two per candidate tried (the candidate's blocks and recent partners).
Nothing grows with the pool.
]]

local T = ARGV[1]
local mode = ARGV[2]
local me = ARGV[3]
local now = tonumber(ARGV[4])
local new_mid = ARGV[5]
local ticket_ttl = tonumber(ARGV[6])
local current_ttl = tonumber(ARGV[7])
local interest_s = tonumber(ARGV[8])
local anyone_s = tonumber(ARGV[9])
local sample = tonumber(ARGV[10])
local cooldown = tonumber(ARGV[11])
local keep = tonumber(ARGV[12])
local stats_ttl = tonumber(ARGV[13])

local STAGE_NAMES = { [0] = "interest", [1] = "language", [2] = "anyone" }
local find, sub = string.find, string.sub

local function fmt(x)
  return string.format("%.3f", x)
end

-- A ticket string -> table. The card (last field) may contain anything but a raw tab.
local TICKET = "^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t[^\t]*\t?(.*)$"
local function parse(s)
  local joined, ints_s, lang, ch, country, olang, ocountry, band, card = string.match(s, TICKET)
  local ints, iset = {}, {}
  if ints_s and ints_s ~= "" then
    for tag in string.gmatch(ints_s, "[^,]+") do
      if not iset[tag] then
        ints[#ints + 1] = tag
        iset[tag] = true
      end
    end
  end
  return {
    joined = tonumber(joined) or now, joined_s = joined or ARGV[4], ints_s = ints_s or "", ints = ints,
    iset = iset, lang = lang or "",
    ch = ch or "", country = country or "", olang = olang or "0", ocountry = ocountry or "", band = band or "",
    card = card or "",
  }
end

-- When a recent-partners string (";id=at;id=at") says we met ``id``, or nil.
local function met_at(recent, id)
  if not recent then
    return nil
  end
  local _, e = find(recent, ";" .. id .. "=", 1, true)
  if not e then
    return nil
  end
  return tonumber(string.match(recent, "^[%d%.]+", e + 1))
end

local function cooling(recent, id)
  local at = met_at(recent, id)
  return at ~= nil and now - at < cooldown
end

-- The recent-partners string with ``id`` met now, keeping the last ``keep`` entries.
local function remember(recent, id)
  local kept = {}
  for other, at in string.gmatch(recent or "", ";([^=;]+)=([^;]+)") do
    if other ~= id then
      kept[#kept + 1] = ";" .. other .. "=" .. at
    end
  end
  kept[#kept + 1] = ";" .. id .. "=" .. ARGV[4]
  local first = math.max(1, #kept - keep + 1)
  return table.concat(kept, "", first)
end

local function stage_of(t)
  local wait = now - t.joined
  local s = 0
  if wait >= anyone_s then
    s = 2
  elseif wait >= interest_s then
    s = 1
  end
  if s == 0 and #t.ints == 0 then
    s = 1
  end
  if s == 1 and t.lang == "" then
    s = 2
  end
  return s
end

local function wait_of(t)
  local w = now - t.joined
  if w < 0 then
    w = 0
  end
  return w
end

-- Removes an identity from every pool set its ticket names, and the ticket itself.
local function unqueue(id, tkey, t)
  redis.call("SREM", KEYS[3], id)
  for _, tag in ipairs(t.ints) do
    redis.call("SREM", T .. "interest:" .. tag, id)
  end
  if t.lang ~= "" then
    redis.call("SREM", T .. "lang:" .. t.lang, id)
  end
  redis.call("DEL", tkey)
end

local function accepts(x, y)
  if x.olang == "1" and x.lang ~= "" and y.lang ~= x.lang then
    return false
  end
  if x.ocountry ~= "" and y.country ~= x.ocountry then
    return false
  end
  return true
end

-- 1. The caller itself: banned, or already in a live match?
local own = redis.call("MGET", KEYS[1], KEYS[2], KEYS[5])
local old = own[1] and parse(own[1]) or nil
local cur = own[2]
local my_recent = own[3]

local ban = redis.call("ZSCORE", KEYS[4], me)
if ban and tonumber(ban) > now then
  if old then
    unqueue(me, KEYS[1], old)
  end
  return { "banned", ban }
end

if cur then
  local m = redis.call(
    "HMGET", T .. "match:" .. cur,
    "a", "b", "chan_a", "chan_b", "common", "stage", "started_at", "wait_a", "wait_b", "card_a", "ended_at"
  )
  if m[1] and not m[11] then
    if old then
      unqueue(me, KEYS[1], old)
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
  redis.call("DEL", KEYS[2])
end

local mine
if mode == "retry" then
  if not old then
    return { "gone" }
  end
  mine = old
else
  mine = parse((old and old.joined_s or ARGV[4]) .. "\t" .. ARGV[14])
end
local my_stage = stage_of(mine)

-- 2. Sample candidates from the sets this stage can use.
local ids, from, seen = {}, {}, { [me] = true }
local function sample_set(set_key)
  for _, id in ipairs(redis.call("SRANDMEMBER", set_key, sample)) do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
      from[#ids] = set_key
    end
  end
end
for _, tag in ipairs(mine.ints) do
  sample_set(T .. "interest:" .. tag)
end
if my_stage >= 1 and mine.lang ~= "" then
  sample_set(T .. "lang:" .. mine.lang)
end
if my_stage >= 2 then
  sample_set(KEYS[3])
end

-- 3. Keep the compatible ones, best first; Redis-side checks (bans, blocks, cooldown) last.
local cands = {}
if #ids > 0 then
  local tkeys = {}
  for n, id in ipairs(ids) do
    tkeys[n] = T .. "ticket:" .. id
  end
  local raw = redis.call("MGET", unpack(tkeys))
  for n, id in ipairs(ids) do
    if not raw[n] then
      -- A ghost: its socket stopped heartbeating. Never handed out; cleaned here, lazily.
      redis.call("SREM", from[n], id)
      if from[n] ~= KEYS[3] then
        redis.call("SREM", KEYS[3], id)
      end
    else
      local t = parse(raw[n])
      if accepts(mine, t) and accepts(t, mine) then
        local common = {}
        for _, tag in ipairs(mine.ints) do
          if t.iset[tag] then
            common[#common + 1] = tag
          end
        end
        local same_lang = t.lang == mine.lang
        local q = 2
        if #common > 0 and (same_lang or t.lang == "" or mine.lang == "") then
          q = 0
        elseif t.lang ~= "" and same_lang then
          q = 1
        end
        if q <= my_stage and q <= stage_of(t) then
          cands[#cands + 1] = {
            id = id, t = t, tkey = tkeys[n], q = q, nc = #common, common = common,
            sl = same_lang and 1 or 0, band = (mine.band ~= "" and t.band == mine.band) and 1 or 0,
          }
        end
      end
    end
  end
end

local best = nil
if #cands > 0 then
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
    if a.t.joined ~= b.t.joined then
      return a.t.joined < b.t.joined
    end
    return a.id < b.id
  end)
  local cids = {}
  for n, c in ipairs(cands) do
    cids[n] = c.id
  end
  local bans = redis.call("ZMSCORE", KEYS[4], unpack(cids))
  local blocked = redis.call("SMISMEMBER", KEYS[6], unpack(cids))
  for n, c in ipairs(cands) do
    if bans[n] and tonumber(bans[n]) > now then
      unqueue(c.id, c.tkey, c.t)
    elseif blocked[n] == 0 and not cooling(my_recent, c.id) then
      if redis.call("SISMEMBER", T .. "blocks:" .. c.id, me) == 0 then
        c.recent = redis.call("GET", T .. "recent:" .. c.id)
        if not cooling(c.recent, me) then
          best = c
          break
        end
      end
    end
  end
end

-- 4a. A match: take both out of the pool, record it for both sides.
if best then
  if old then
    unqueue(me, KEYS[1], old)
  end
  unqueue(best.id, best.tkey, best.t)
  local mkey = T .. "match:" .. new_mid
  local my_wait = wait_of(mine)
  local partner_wait = wait_of(best.t)
  local common_s = table.concat(best.common, ",")
  local stage_name = STAGE_NAMES[best.q]
  redis.call(
    "HSET", mkey,
    "a", me, "b", best.id, "chan_a", mine.ch, "chan_b", best.t.ch, "started_at", ARGV[4],
    "common", common_s, "stage", stage_name, "wait_a", fmt(my_wait), "wait_b", fmt(partner_wait),
    "card_a", mine.card
  )
  redis.call("EXPIRE", mkey, current_ttl)
  redis.call("SET", KEYS[2], new_mid, "EX", current_ttl)
  redis.call("SET", T .. "current:" .. best.id, new_mid, "EX", current_ttl)
  redis.call("ZADD", KEYS[7], ARGV[4], new_mid)
  redis.call("SET", KEYS[5], remember(my_recent, best.id), "EX", cooldown)
  redis.call("SET", T .. "recent:" .. best.id, remember(best.recent, me), "EX", cooldown)
  if redis.call("INCR", KEYS[8]) == 1 then
    redis.call("EXPIRE", KEYS[8], stats_ttl)
  end
  if redis.call("RPUSH", KEYS[9], fmt(my_wait), fmt(partner_wait)) == 2 then
    redis.call("EXPIRE", KEYS[9], stats_ttl)
  end
  return {
    "matched", new_mid, best.id, best.t.ch, common_s, stage_name, ARGV[4], fmt(my_wait), fmt(partner_wait),
    best.t.card,
  }
end

-- 4b. No match: add or refresh the caller's ticket (a second join keeps the first join time).
if mode == "join" then
  if old then
    for _, tag in ipairs(old.ints) do
      if not mine.iset[tag] then
        redis.call("SREM", T .. "interest:" .. tag, me)
      end
    end
    if old.lang ~= "" and old.lang ~= mine.lang then
      redis.call("SREM", T .. "lang:" .. old.lang, me)
    end
  end
  redis.call("SET", KEYS[1], mine.joined_s .. "\t" .. ARGV[14], "EX", ticket_ttl)
else
  redis.call("EXPIRE", KEYS[1], ticket_ttl)
end
-- Re-adding on retry also heals a membership a sweep raced away.
redis.call("SADD", KEYS[3], me)
for _, tag in ipairs(mine.ints) do
  redis.call("SADD", T .. "interest:" .. tag, me)
end
if mine.lang ~= "" then
  redis.call("SADD", T .. "lang:" .. mine.lang, me)
end
return { "queued", STAGE_NAMES[my_stage], fmt(wait_of(mine)), tostring(redis.call("SCARD", KEYS[3])) }
