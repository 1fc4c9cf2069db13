#!lua
--- Stores the entry that a getOrSet computed, with the semantics of write, if its caller still holds the
--- lease it took with read_or_lease; replies 1 when it stored it. Replies 0 and changes nothing when the
--- lease is gone: the entry was removed (which voids the lease, so a value computed before a delete is
--- not stored after it), written by write (which wins over the late result) or taken over by another caller.
---@script fill
---@key entry Hash that holds the entry, or the pending entry of the lease
---@arg token string The lease token the caller took the lease with
---@arg data Buffer Data bytes, stored in field d
---@arg stale? integer Stale time in epoch milliseconds, stored in field s; absent: no field s
---@arg ttl? integer Milliseconds the entry lives; absent: no TTL
---@arg tags? Buffer Field t: the entry's tags and their tokens from before the factory ran; absent: no field t
---@include foreign_type
---@include entry_state
---@include store_entry
---@include lease
---@return 0 | 1

-- Another type at the key (WRONGTYPE) holds no lease either; any other error (a denied permission) is replied.
local lease = redis.pcall('HGET', KEYS[1], 'l')
if type(lease) == 'table' and string.sub(lease.err, 1, 9) ~= 'WRONGTYPE' then
  return lease
end
if type(lease) ~= 'string' or lease_token(lease) ~= ARGV[1] then
  return 0
end
local replies = {}
store_entries(replies, 1, 1, 1, ARGV[3], ARGV[4], ARGV[5])
return replies[1]
