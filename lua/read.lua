#!lua flags=no-writes
--- Reads one cache entry in a single atomic step: its data, its stale time, its remaining TTL and, for an
--- entry written with tags, field t (the tags and the tokens they had then, checked by the caller).
--- Replies nil when the key does not exist or holds a pending entry (a lease with no data yet).
--- Refuses, without touching it, a key that holds anything but a cache entry (another Redis type, or a
--- hash with neither field d nor a lease).
---@script read
---@key entry Hash that holds the entry: field d (data bytes) and optional field s (stale time, epoch ms)
---@include foreign_type
---@include stale_field
---@include read_entry
---@return [data: Buffer, stale: number | null, pttl: number, tags: Buffer | null] | null

local reply = {}
local failure = read_entries(reply, 1, 1)
if failure then
  return failure
end
if not reply[1] then
  return nil
end
return reply
