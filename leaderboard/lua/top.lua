-- Read one leaderboard in one round trip: the top N, and the viewer's rank, score and neighbours.
--
-- KEYS[1]  the board: a sorted set of zero-padded user ids -> score (keys.leaderboard(...)).
-- ARGV[1]  N, how many entries from the top (>= 1).
-- ARGV[2]  the viewer's member, or "" for no viewer.
-- ARGV[3]  R, how many neighbours on each side of the viewer to return (>= 0).
--
-- Returns {top, rank, score, window_start, window}:
--   top           flat list member, score, member, score ... highest score first (ZREVRANGE order:
--                 equal scores in reverse lexicographic member order);
--   rank          the viewer's 0-based ZREVRANK, or -1 when there is no viewer or it is not a member;
--   score         the viewer's score as a string, or "" when rank is -1;
--   window_start  0-based rank of the first window entry (-1 when there is no window);
--   window        flat list member, score ... from rank - R to rank + R, clipped at the top.
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if ARGV[2] == '' then
  return {top, -1, '', -1, {}}
end
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
if not rank then
  return {top, -1, '', -1, {}}
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
local radius = tonumber(ARGV[3])
local first = rank - radius
if first < 0 then first = 0 end
local window = redis.call('ZREVRANGE', KEYS[1], first, rank + radius, 'WITHSCORES')
return {top, rank, score, first, window}
