--- What KEYS[1] holds, checked before a script changes it: 1 for a cache entry (a hash with field d),
--- 0 for nothing, or an error reply to return as is: FOREIGN_DATA for anything else (another Redis
--- type, or a hash without field d), which the script must leave untouched.
local function entry_state()
  -- HEXISTS on another type is an error, which pcall catches so the reply can say what is there.
  local present = redis.pcall('HEXISTS', KEYS[1], 'd')
  if type(present) == 'table' then
    if string.sub(present.err, 1, 9) ~= 'WRONGTYPE' then
      return present
    end
    return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[1]).ok .. ', not a cache entry')
  end
  if present == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
  end
  return present
end
