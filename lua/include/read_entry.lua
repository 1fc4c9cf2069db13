--- read_entry(i, reply, at) puts the entry at KEYS[i] as read replies it into reply[at] to reply[at + 3]:
--- data, stale or false, pttl, tags or false; false four times when there is none (no key, or a pending
--- entry: a lease with no data yet). It returns nil, or an error reply: FOREIGN_DATA for a key that holds
--- anything but a cache entry (another Redis type, or a hash with neither field d nor a lease). Filling the
--- caller's table, rather than replying one of its own, spares a script over many keys a table per key.
local function read_entry(i, reply, at)
  -- HMGET on another type is an error: pcall keeps it from aborting the script so the reply can say what is there.
  local fields = redis.pcall('HMGET', KEYS[i], 'd', 's', 't')
  if fields.err then
    return foreign_type(i, fields)
  end

  local data = fields[1]
  if not data then
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 'l') == 0 then
      return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
    end
    reply[at], reply[at + 1], reply[at + 2], reply[at + 3] = false, false, false, false
    return nil
  end

  local stale = stale_field(fields[2])
  if stale and type(stale) == 'table' then
    return stale
  end
  -- false, not nil: a nil would end the Lua array and drop what follows from the reply.
  reply[at], reply[at + 1], reply[at + 2], reply[at + 3] = data, stale, redis.call('PTTL', KEYS[i]), fields[3] or false
  return nil
end
