-- Finish an idempotent request: store its answer, but only over our own "pending" marker.
--
-- KEYS[1]  the idempotency key (seendr.keys.idempotency(scope, subject:key)); a string
--          holding JSON: {"state":"pending","token":...,"fp":...} while the request runs,
--          {"state":"done","fp":...,"status":...,"body":...} once it answered.
-- ARGV[1]  the token this request wrote into its pending marker
-- ARGV[2]  the JSON to store ("" to drop the marker, so the client may retry)
-- ARGV[3]  TTL of the stored answer in seconds
--
-- Returns 1 when written (or dropped), 0 when the marker is no longer ours (it expired and
-- another request took the key over): that request's answer stands.

local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
local ok, value = pcall(cjson.decode, current)
if not ok or value['state'] ~= 'pending' or value['token'] ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
end
return 1
