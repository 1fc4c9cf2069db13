--- foreign_type(i, failure) turns the error reply of a hash command at KEYS[i] into what a script replies:
--- FOREIGN_DATA naming the type for WRONGTYPE, any other error (a denied permission) as it is.
local function foreign_type(i, failure)
  if string.sub(failure.err, 1, 9) ~= 'WRONGTYPE' then
    return failure
  end
  return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[i]).ok .. ', not a cache entry')
end
