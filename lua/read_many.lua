#!lua flags=no-writes
--- Reads many cache entries in one atomic step and replies, in the order of the keys, what read replies
--- for each: { data, stale, pttl }, or nil for a missing or pending entry. A key given twice is read twice.
--- When a key holds anything but a cache entry, the whole call is refused with FOREIGN_DATA naming its
--- position ('entry <n>: ...', from 1).
---@script read_many
---@key entries... Hashes that hold the entries, each as read reads it
---@include hash_fields
---@include stale_field
---@include read_entry
---@include batch_error
---@return ([data: Buffer, stale: number | null, pttl: number, tags: Buffer | null] | null)[]

local replies = {}
for i = 1, #KEYS do
  local reply = read_entry(i)
  if reply and reply.err then
    return batch_error(i, reply)
  end
  -- false, not nil: a nil would end the Lua array.
  replies[i] = reply or false
end
return replies
