--[[
match.lua: in one atomic step, pair the caller with the best compatible waiting ticket, or
add/refresh the caller's ticket in the pool. Called by matching.pool.join (mode "join") and
matching.pool.retry (mode "retry": preferences come from the stored ticket).

Key layout (T = ARGV[1], the pool prefix ending in the {pool} hash tag, keys.pool_tag()):
  T.."waiting"            set of waiting identity ids
  T.."interest:"..tag     set of waiting ids per interest tag
  T.."lang:"..code        set of waiting ids per language
  T.."ticket:"..id        hash: id joined ints lang ch country olang ocountry band inst  (TTL)
  T.."current:"..id       string: match id the identity is in                          (TTL)
  T.."match:"..mid        hash: a b chan_a chan_b started_at common stage wait_a wait_b  (TTL)
  T.."recent:"..id        zset: partner id -> matched at (cooldown)                     (TTL)
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
ARGV[13] stats TTL           ARGV[14] instance
join only: ARGV[15] channel  ARGV[16] interests "a,b"   ARGV[17] lang ("" = none)
           ARGV[18] country  ARGV[19] only_lang "1"/"0" ARGV[20] only_country  ARGV[21] band

Returns one of (numbers as strings: Redis would truncate Lua floats):
  {"matched", mid, partner, partner_channel, "a,b common", stage, started_at, my_wait, partner_wait}
  {"queued", stage, my_wait}
  {"already", mid, partner, partner_channel}    caller is in a live match
  {"banned", until}                             caller is banned (its ticket is removed)
  {"gone"}                                      retry without a ticket

Stages: 0 interest, 1 language, 2 anyone, from each side's own wait; a stage the ticket cannot
use is skipped (no interests -> never 0, no lang -> never 1). A pair's quality is 0 (shared
interest and equal language, "" = none), 1 (same non-empty language) or 2; it forms only if
quality <= stage for BOTH sides. Cost: at most ARGV[10] SRANDMEMBER samples per interest set
(<= 10), the language set and the waiting set, each costing a bounded number of commands.
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
local instance = ARGV[14]

local STAGE_NAMES = { [0] = "interest", [1] = "language", [2] = "anyone" }
local FIELDS = { "joined", "ints", "lang", "ch", "country", "olang", "ocountry", "band" }

local function fmt(x)
  return string.format("%.3f", x)
end

local function split(s)
  local list, set = {}, {}
  if s and s ~= "" then
    for t in string.gmatch(s, "[^,]+") do
      if not set[t] then
        list[#list + 1] = t
        set[t] = true
      end
    end
  end
  return list, set
end

local function ticket_from(h)
  local ints, iset = split(h[2])
  return {
    joined = tonumber(h[1]) or now,
    ints_s = h[2] or "",
    ints = ints,
    iset = iset,
    lang = h[3] or "",
    ch = h[4] or "",
    country = h[5] or "",
    olang = h[6] or "0",
    ocountry = h[7] or "",
    band = h[8] or "",
  }
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

local function banned(id)
  local until_ = redis.call("ZSCORE", KEYS[4], id)
  if until_ and tonumber(until_) > now then
    return until_
  end
  return nil
end

local function recently_met(recent_key, other)
  local at = redis.call("ZSCORE", recent_key, other)
  return at and (now - tonumber(at)) < cooldown
end

-- 1. The caller itself: banned, or already in a live match?
local stored = redis.call("HMGET", KEYS[1], unpack(FIELDS))
local has_ticket = stored[1] and true or false
local old = has_ticket and ticket_from(stored) or nil

local ban = banned(me)
if ban then
  if old then
    unqueue(me, KEYS[1], old)
  end
  return { "banned", ban }
end

local cur = redis.call("GET", KEYS[2])
if cur then
  local m = redis.call("HMGET", T .. "match:" .. cur, "a", "b", "chan_a", "chan_b", "ended_at")
  if m[1] and not m[5] then
    if old then
      unqueue(me, KEYS[1], old)
    end
    if m[1] == me then
      return { "already", cur, m[2], m[4] or "" }
    end
    return { "already", cur, m[1], m[3] or "" }
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
  mine = ticket_from({
    old and fmt(old.joined) or ARGV[4], ARGV[16], ARGV[17], ARGV[15], ARGV[18], ARGV[19], ARGV[20], ARGV[21],
  })
end
local my_stage = stage_of(mine)

-- 2. Sample candidates from the sets this stage can use; keep the best compatible one.
local seen = { [me] = true }
local ghosts = {}
local best = nil

local function better(a, b)
  if b == nil then
    return true
  end
  if a.q ~= b.q then
    return a.q < b.q
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
end

local function consider(id, set_key)
  if ghosts[id] then
    redis.call("SREM", set_key, id)
    return
  end
  if seen[id] then
    return
  end
  seen[id] = true
  local tkey = T .. "ticket:" .. id
  local h = redis.call("HMGET", tkey, unpack(FIELDS))
  if not h[1] then
    -- A ghost: its socket stopped heartbeating. Never handed out; cleaned here, lazily.
    ghosts[id] = true
    redis.call("SREM", set_key, id)
    redis.call("SREM", KEYS[3], id)
    return
  end
  local t = ticket_from(h)
  if not (accepts(mine, t) and accepts(t, mine)) then
    return
  end
  local common = {}
  for _, tag in ipairs(mine.ints) do
    if t.iset[tag] then
      common[#common + 1] = tag
    end
  end
  local q = 2
  if #common > 0 and t.lang == mine.lang then
    q = 0
  elseif t.lang ~= "" and t.lang == mine.lang then
    q = 1
  end
  if q > my_stage or q > stage_of(t) then
    return
  end
  local band = 0
  if mine.band ~= "" and t.band == mine.band then
    band = 1
  end
  local cand = { id = id, t = t, tkey = tkey, q = q, nc = #common, band = band, common = common }
  if not better(cand, best) then
    return
  end
  -- Redis-side checks last, only for a candidate that would win.
  if banned(id) then
    unqueue(id, tkey, t)
    return
  end
  if redis.call("EXISTS", T .. "current:" .. id) == 1 then
    unqueue(id, tkey, t)
    return
  end
  if redis.call("SISMEMBER", KEYS[6], id) == 1 then
    return
  end
  if redis.call("SISMEMBER", T .. "blocks:" .. id, me) == 1 then
    return
  end
  if recently_met(KEYS[5], id) or recently_met(T .. "recent:" .. id, me) then
    return
  end
  best = cand
end

local function sample_set(set_key)
  local members = redis.call("SRANDMEMBER", set_key, sample)
  for _, id in ipairs(members) do
    consider(id, set_key)
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

-- 3a. A match: take both out of the pool, record it for both sides.
if best then
  if old then
    unqueue(me, KEYS[1], old)
  end
  unqueue(best.id, best.tkey, best.t)
  local mkey = T .. "match:" .. new_mid
  if redis.call("EXISTS", mkey) == 1 then
    return redis.error_reply("match id collision")
  end
  local my_wait = wait_of(mine)
  local partner_wait = wait_of(best.t)
  local common_s = table.concat(best.common, ",")
  local stage_name = STAGE_NAMES[best.q]
  redis.call(
    "HSET", mkey,
    "a", me, "b", best.id, "chan_a", mine.ch, "chan_b", best.t.ch, "started_at", ARGV[4],
    "common", common_s, "stage", stage_name, "wait_a", fmt(my_wait), "wait_b", fmt(partner_wait)
  )
  redis.call("EXPIRE", mkey, current_ttl)
  redis.call("SET", KEYS[2], new_mid, "EX", current_ttl)
  redis.call("SET", T .. "current:" .. best.id, new_mid, "EX", current_ttl)
  redis.call("ZADD", KEYS[7], ARGV[4], new_mid)
  for _, pair in ipairs({ { KEYS[5], best.id }, { T .. "recent:" .. best.id, me } }) do
    redis.call("ZADD", pair[1], ARGV[4], pair[2])
    redis.call("ZREMRANGEBYRANK", pair[1], 0, -(keep + 1))
    redis.call("EXPIRE", pair[1], cooldown)
  end
  redis.call("INCR", KEYS[8])
  redis.call("EXPIRE", KEYS[8], stats_ttl)
  redis.call("RPUSH", KEYS[9], fmt(my_wait), fmt(partner_wait))
  redis.call("EXPIRE", KEYS[9], stats_ttl)
  return {
    "matched", new_mid, best.id, best.t.ch, common_s, stage_name, ARGV[4], fmt(my_wait), fmt(partner_wait),
  }
end

-- 3b. No match: add or refresh the caller's ticket (a second join keeps the first join time).
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
  redis.call(
    "HSET", KEYS[1],
    "id", me, "joined", fmt(mine.joined), "ints", mine.ints_s, "lang", mine.lang, "ch", mine.ch,
    "country", mine.country, "olang", mine.olang, "ocountry", mine.ocountry, "band", mine.band,
    "inst", instance
  )
end
redis.call("EXPIRE", KEYS[1], ticket_ttl)
-- Re-adding on retry also heals a membership a sweep raced away.
redis.call("SADD", KEYS[3], me)
for _, tag in ipairs(mine.ints) do
  redis.call("SADD", T .. "interest:" .. tag, me)
end
if mine.lang ~= "" then
  redis.call("SADD", T .. "lang:" .. mine.lang, me)
end
return { "queued", STAGE_NAMES[my_stage], fmt(wait_of(mine)) }
