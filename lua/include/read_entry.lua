--- The entry at KEYS[i] as read replies it: { data, stale or false, pttl, tags or false }, nil when there is none (no
--- key, or a pending entry: a lease with no data yet), or an error reply: FOREIGN_DATA for a key that
--- holds anything but a cache entry (another Redis type, or a hash with neither field d nor a lease).
local function read_entry(i)
  local fields = hash_fields(i, 'd', 's', 't')
  if fields.err then
    return fields
  end

  local data, stale, tags = fields[1], fields[2], fields[3]
  if not data then
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 'l') == 0 then
      return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
    end
    return nil
  end

  stale = stale_field(stale)
  if type(stale) == 'table' then
    return stale
  end
  -- false, not nil: a nil would end the Lua array and drop what follows from the reply.
  return { data, stale, redis.call('PTTL', KEYS[i]), tags or false }
end
