-- Release a fill lock only if we still hold it (the token matches); an expired lock that
-- another filler took over is left alone.
--
-- KEYS[1]  lock key
-- ARGV[1]  our token
--
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
