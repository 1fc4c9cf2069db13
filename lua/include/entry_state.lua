--- What KEYS[i] holds, checked before a script changes it: a cache entry (a hash with field d), a pending
--- entry (a hash with a lease in field l and no d: a getOrSet is computing it), nothing, or an error reply
--- to return as is: FOREIGN_DATA for anything else (another Redis type, or a hash with neither d nor l),
--- which the script must leave untouched.
--- entry_state(i) replies 1 for an entry, -1 for a pending entry and 0 for nothing: one call for an entry
--- (HEXISTS), two for nothing.
--- entry_state(i, true) replies the number of fields (0 for nothing): one call for nothing (HLEN), two for
--- an entry; for a script that must know whether there are fields to drop.
local function entry_state(i, count_fields)
  -- Either command on another type is an error, which pcall catches so the reply can say what is there.
  local state
  if count_fields then
    state = redis.pcall('HLEN', KEYS[i])
  else
    state = redis.pcall('HEXISTS', KEYS[i], 'd')
  end
  if type(state) == 'table' then
    return foreign_type(i, state)
  end
  -- A hash has at least one field, so HLEN 0 is no key; HEXISTS 0 is no key or a hash without d.
  if count_fields then
    if state == 0 then
      return 0
    end
    if redis.call('HEXISTS', KEYS[i], 'd') == 1 then
      return state
    end
  elseif state == 1 then
    return 1
  elseif redis.call('EXISTS', KEYS[i]) == 0 then
    return 0
  end
  if redis.call('HEXISTS', KEYS[i], 'l') == 1 then
    if count_fields then
      return state
    end
    return -1
  end
  return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
end
