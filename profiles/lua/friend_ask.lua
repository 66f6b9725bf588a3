-- Friend requests: one side of a match asks to stay in touch; decides atomically whether this
-- ask completes the pair, so any number of concurrent asks from both sides yield one "mutual".
--
-- KEYS[1]  the match's asks hash (keys.friend_asks): side id -> account identity id ("" for a
--          guest without an account yet), and "=done" once the pair is complete
-- ARGV[1]  the asker's side id (its identity id in the match)
-- ARGV[2]  the account identity id behind the asker ("" for a guest)
-- ARGV[3]  the partner's side id
-- ARGV[4]  unix time the hash expires (the end of the request window, or a backstop)
--
-- Returns {status, asker account, partner account}, status one of
--   "mutual"   this ask completed the pair: the caller creates the friendship and tells both
--   "friends"  the pair was complete before
--   "asked"    a new request (the partner has not asked, or is a guest without an account)
--   "again"    a repeated request: nothing new to tell anyone
local me, account, partner = ARGV[1], ARGV[2], ARGV[3]
local before = redis.call('HGET', KEYS[1], me)
if not before or (before == '' and account ~= '') then
  redis.call('HSET', KEYS[1], me, account)
end
redis.call('EXPIREAT', KEYS[1], ARGV[4])
local mine = redis.call('HGET', KEYS[1], me)
local theirs = redis.call('HGET', KEYS[1], partner) or ''
if mine ~= '' and theirs ~= '' then
  if redis.call('HSETNX', KEYS[1], '=done', '1') == 1 then
    return {'mutual', mine, theirs}
  end
  return {'friends', mine, theirs}
end
if before and before == mine then
  return {'again', mine, theirs}
end
return {'asked', mine, theirs}
