-- Put a freshly rebuilt board in place of the live one, atomically.
--
-- KEYS[1]  the rebuilt board (keys.leaderboard_build(...)), written by the rebuild with a short TTL.
-- KEYS[2]  the live board (keys.leaderboard(...)).
-- ARGV[1]  unix seconds at which the live board expires, or "0" for never (the all-time board).
-- ARGV[2..] members to drop from the rebuilt board first (users banned while it was being built).
--
-- Returns the number of members of the live board after the swap. When the rebuilt board is
-- empty (or missing) the live board is deleted, so readers see an empty board, never a stale one.
if #ARGV > 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 2, #ARGV do
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
if ARGV[1] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('EXPIREAT', KEYS[1], ARGV[1])
end
redis.call('RENAME', KEYS[1], KEYS[2])
return redis.call('ZCARD', KEYS[2])
