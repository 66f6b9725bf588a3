-- Friend requests: a guest who asked signed up; their side of the match now has an account.
--
-- KEYS[1]  the match's asks hash (keys.friend_asks), see friend_ask.lua
-- ARGV[1]  the guest's side id
-- ARGV[2]  the new account's identity id
-- ARGV[3]  the partner's side id
--
-- Returns false when the request is gone (the window closed) or the guest never asked, else
-- {status, partner account} with status "mutual" (the partner had asked: the caller creates the
-- friendship), "friends" (already complete) or "asked" (the partner may now be told).
local guest, account, partner = ARGV[1], ARGV[2], ARGV[3]
local before = redis.call('HGET', KEYS[1], guest)
if not before then
  return false
end
if before == '' then
  redis.call('HSET', KEYS[1], guest, account)
end
local theirs = redis.call('HGET', KEYS[1], partner) or ''
if theirs == '' then
  return {'asked', ''}
end
if redis.call('HSETNX', KEYS[1], '=done', '1') == 1 then
  return {'mutual', theirs}
end
return {'friends', theirs}
