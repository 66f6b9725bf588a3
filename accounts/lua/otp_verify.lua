-- Check an email-verification code and spend one try, atomically.
--
-- Key layout: hash "<prefix>otp:<user id>" with fields code (keyed hash of the code) and tries
-- (tries left); written with a TTL by accounts.services.issue_otp.
--
-- KEYS[1]  the OTP hash of the user
-- ARGV[1]  keyed hash of the submitted code
--
-- Returns {"ok", 0} (code right; the key is deleted), {"wrong", tries left},
-- {"locked", 0} (no tries left; the key is deleted, a new code must be requested) or
-- {"expired", 0} (no code, or it expired).
local stored = redis.call('HGET', KEYS[1], 'code')
if not stored then
  return {'expired', 0}
end
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries') or '0')
if tries <= 0 then
  redis.call('DEL', KEYS[1])
  return {'locked', 0}
end
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'ok', 0}
end
tries = redis.call('HINCRBY', KEYS[1], 'tries', -1)
if tries <= 0 then
  redis.call('DEL', KEYS[1])
  return {'locked', 0}
end
return {'wrong', tries}
