-- Match statistics for /metrics: fold finished minutes into cumulative totals, return live totals.
--
-- The matcher writes, per minute (unix seconds // 60), a list of the seconds each side waited (two
-- entries per match formed, so a minute's matches are half its length; a TTL of a couple of hours). Prometheus wants counters
-- that only grow, so every scrape (from any web process) folds the minutes that can no longer be
-- written into one cumulative hash, in this one atomic step, and answers cumulative + the minutes
-- still open. A minute is folded exactly once (``folded_until`` in the hash).
--
-- KEYS[1]                totals hash: count, waits, wait_sum, le:<bound>..., le:+Inf, folded_until
-- KEYS[i + 1]           (i = 1..N) waits list of minute ARGV[1] + i - 1
-- ARGV[1]                the first minute covered by KEYS[2..]
-- ARGV[2]                fold minutes strictly before this one (older minutes are complete)
-- ARGV[3..]              histogram upper bounds in seconds, ascending, as strings ("+Inf" implied)
--
-- Returns {count, waits, wait_sum (string), n_1, ..., n_k, n_inf}: per-bucket (not cumulative)
-- counts of waits, covering everything folded so far plus the open minutes.

local totals = KEYS[1]
local first = tonumber(ARGV[1])
local fold_before = tonumber(ARGV[2])
local bounds = {}
for i = 3, #ARGV do
  bounds[#bounds + 1] = ARGV[i]
end

local folded_until = tonumber(redis.call('HGET', totals, 'folded_until') or '')
if not folded_until then
  folded_until = first - 1
end

local function bucket_of(seconds)
  for i, bound in ipairs(bounds) do
    if seconds <= tonumber(bound) then
      return 'le:' .. bound
    end
  end
  return 'le:+Inf'
end

local open_count, open_waits, open_sum = 0, 0, 0
local open_buckets = {}
local new_folded = folded_until

for i = 1, #KEYS - 1 do
  local minute = first + i - 1
  if minute > folded_until then
    local waits = redis.call('LRANGE', KEYS[i + 1], 0, -1)
    local count = math.floor(#waits / 2)
    if minute < fold_before then
      if count > 0 then
        redis.call('HINCRBY', totals, 'count', count)
      end
      for _, raw in ipairs(waits) do
        local seconds = tonumber(raw)
        if seconds then
          redis.call('HINCRBY', totals, 'waits', 1)
          redis.call('HINCRBYFLOAT', totals, 'wait_sum', seconds)
          redis.call('HINCRBY', totals, bucket_of(seconds), 1)
        end
      end
      if minute > new_folded then
        new_folded = minute
      end
    else
      open_count = open_count + count
      for _, raw in ipairs(waits) do
        local seconds = tonumber(raw)
        if seconds then
          open_waits = open_waits + 1
          open_sum = open_sum + seconds
          local field = bucket_of(seconds)
          open_buckets[field] = (open_buckets[field] or 0) + 1
        end
      end
    end
  end
end
if fold_before - 1 > new_folded then
  new_folded = fold_before - 1
end
if new_folded > folded_until then
  redis.call('HSET', totals, 'folded_until', new_folded)
end

local result = {
  (tonumber(redis.call('HGET', totals, 'count') or '0') or 0) + open_count,
  (tonumber(redis.call('HGET', totals, 'waits') or '0') or 0) + open_waits,
  tostring((tonumber(redis.call('HGET', totals, 'wait_sum') or '0') or 0) + open_sum),
}
local fields = {}
for _, bound in ipairs(bounds) do
  fields[#fields + 1] = 'le:' .. bound
end
fields[#fields + 1] = 'le:+Inf'
for _, field in ipairs(fields) do
  result[#result + 1] = (tonumber(redis.call('HGET', totals, field) or '0') or 0) + (open_buckets[field] or 0)
end
return result
