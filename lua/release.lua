#!lua flags=allow-oom
--- Gives up the lease that a getOrSet took with read_or_lease, when its factory failed, so that the next
--- caller takes it at once instead of after lockTimeout. A pending entry is removed; a stale entry keeps
--- its data. Replies 1 when it released the lease, 0 when the caller no longer held it (nothing changed).
---@script release
---@key entry Hash that holds the entry, or the pending entry of the lease
---@arg token string The lease token the caller took the lease with
---@include lease
---@return 0 | 1

-- Another type at the key (WRONGTYPE) holds no lease either; any other error (a denied permission) is replied.
local fields = redis.pcall('HMGET', KEYS[1], 'd', 'l')
if fields.err and string.sub(fields.err, 1, 9) ~= 'WRONGTYPE' then
  return fields
end
if fields.err or not fields[2] or lease_token(fields[2]) ~= ARGV[1] then
  return 0
end
if fields[1] then
  redis.call('HDEL', KEYS[1], 'l')
else
  redis.call('DEL', KEYS[1])
end
return 1
