--- The fields of the hash at KEYS[i] (HMGET: false for each one missing), or a FOREIGN_DATA error reply
--- when the key holds another Redis type.
local function hash_fields(i, ...)
  -- HMGET on another type is an error: pcall keeps it from aborting the script so the reply can say what is there.
  local fields = redis.pcall('HMGET', KEYS[i], ...)
  if fields.err and string.sub(fields.err, 1, 9) == 'WRONGTYPE' then
    return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[i]).ok .. ', not a cache entry')
  end
  return fields
end
