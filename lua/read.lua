#!lua flags=no-writes
--- Reads one cache entry in a single atomic step: its data, its stale time and its remaining TTL.
--- Replies nil when the key does not exist or holds a pending entry (a lease with no data yet).
--- Refuses, without touching it, a key that holds anything but a cache entry (another Redis type, or a
--- hash with neither field d nor a lease).
---@script read
---@key entry Hash that holds the entry: field d (data bytes) and optional field s (stale time, epoch ms)
---@include stale_field
---@return [data: Buffer, stale: number | null, pttl: number] | null

-- HMGET on another type is an error: pcall keeps it from aborting the script so the reply can say what is there.
local fields = redis.pcall('HMGET', KEYS[1], 'd', 's')
if fields.err then
  if string.sub(fields.err, 1, 9) ~= 'WRONGTYPE' then
    return fields
  end
  return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[1]).ok .. ', not a cache entry')
end

local data, stale = fields[1], fields[2]
if not data then
  if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], 'l') == 0 then
    return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
  end
  return nil
end

if stale then
  stale = stale_field(stale)
  if type(stale) == 'table' then
    return stale
  end
end

-- false, not nil: a nil would end the Lua array and drop pttl from the reply.
return { data, stale or false, redis.call('PTTL', KEYS[1]) }
