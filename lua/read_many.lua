#!lua flags=no-writes
--- Reads many cache entries in one atomic step and replies, in the order of the keys, what read replies
--- for each: { data, stale, pttl, tags }, nil for a missing or pending entry, or, for a key that holds
--- anything but a cache entry, the error read would reply, as a string (FOREIGN_DATA ...): one key's
--- foreign data does not keep the others from being read. A key given twice is read twice.
---@script read_many
---@key entries... Hashes that hold the entries, each as read reads it
---@include hash_fields
---@include stale_field
---@include read_entry
---@return ([data: Buffer, stale: number | null, pttl: number, tags: Buffer | null] | string | null)[]

local replies = {}
for i = 1, #KEYS do
  local reply = read_entry(i)
  -- false, not nil: a nil would end the Lua array.
  replies[i] = reply and reply.err or reply or false
end
return replies
