--[[
socket_release.lua: forget an identity's chat-socket record, only if it is still the caller's.
Called by matching.services.release_socket when a chat socket closes.

KEYS[1] keys.socket_owner(identity id)
ARGV[1] the caller's channel name

Returns 1 if the record was the caller's and is deleted, else 0 (a newer socket owns it).
]]

if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
