--[[
socket_refresh.lua: keep an identity's chat-socket record alive, unless a newer socket took it.
Called by matching.services.refresh_socket on every heartbeat of a chat socket.

KEYS[1] keys.socket_owner(identity id): a string holding the channel name of the one socket
        the identity may hold (the newest wins).
ARGV[1] the caller's channel name   ARGV[2] TTL in seconds

Returns 1 when the record is the caller's (TTL refreshed), or was gone (a stall outlived the
TTL: the caller takes it back); 0 when another socket owns it (the caller must close, 4409).
]]

local current = redis.call("GET", KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call("SET", KEYS[1], ARGV[1], "EX", tonumber(ARGV[2]))
return 1
