#!lua flags=allow-oom
--- Removes one cache entry and replies how many entries it removed (0 or 1). A pending entry (a lease
--- that a getOrSet holds, with no data yet) is removed too, which voids the lease so that its late result
--- is not stored, but it is not an entry: the reply is 0. Refuses, without touching it, a key that holds
--- anything but a cache entry. Runs even when Redis is out of memory, since removing is how a full cache
--- makes room.
---@script remove
---@key entry Hash that holds the entry
---@include foreign_type
---@include entry_state
---@return number

local present = entry_state(1)
if type(present) == 'table' then
  return present
end
if present == 0 then
  return 0
end
redis.call('DEL', KEYS[1])
return present == 1 and 1 or 0
