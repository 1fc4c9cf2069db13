#!lua flags=allow-oom
--- Removes one cache entry and replies how many entries it removed (0 or 1). Refuses, without
--- touching it, a key that holds anything but a cache entry. Runs even when Redis is out of memory,
--- since removing is how a full cache makes room.
---@script remove
---@key entry Hash that holds the entry
---@return number

local present = redis.pcall('HEXISTS', KEYS[1], 'd')
if type(present) == 'table' then
  if string.sub(present.err, 1, 9) ~= 'WRONGTYPE' then
    return present
  end
  return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[1]).ok .. ', not a cache entry')
end
if present == 0 then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
  end
  return 0
end
return redis.call('DEL', KEYS[1])
