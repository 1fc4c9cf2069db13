--- read_entries(reply, first, last) puts the entries at KEYS[first] to KEYS[last] as read replies them into
--- reply, four elements a key from reply[1]: data, stale or false, pttl, tags or false; false four times
--- when there is none (no key, or a pending entry: a lease with no data yet). For a key that holds anything
--- but a cache entry (another Redis type, or a hash with neither field d nor a lease) its four elements are
--- the error's text and three false, and the error reply is returned (the last, when there are several).
--- Filling the caller's table, rather than replying one of its own, spares a script over many keys a table
--- per key; one loop here rather than a function called for each key spares it a Lua call per key.
local function read_entries(reply, first, last)
  local failure
  for i = first, last do
    local at = 4 * (i - first) + 1
    -- HMGET on another type is an error: pcall keeps it from aborting the script so the reply can say what is there.
    local fields = redis.pcall('HMGET', KEYS[i], 'd', 's', 't')
    local problem
    if fields.err then
      problem = foreign_type(i, fields)
    elseif not fields[1] then
      if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 'l') == 0 then
        problem = redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
      else
        reply[at], reply[at + 1], reply[at + 2], reply[at + 3] = false, false, false, false
      end
    else
      -- Most entries have no stale time: no call for them.
      local stale = fields[2] and stale_field(fields[2]) or false
      if stale and type(stale) == 'table' then
        problem = stale
      else
        -- false, not nil: a nil would end the Lua array and drop what follows from the reply.
        reply[at], reply[at + 1], reply[at + 2], reply[at + 3] = fields[1], stale, redis.call('PTTL', KEYS[i]), fields[3] or false
      end
    end
    if problem then
      failure = problem
      reply[at], reply[at + 1], reply[at + 2], reply[at + 3] = problem.err, false, false, false
    end
  end
  return failure
end
