--- What KEYS[1] holds, checked before a script changes it: a cache entry (a hash with field d), nothing,
--- or an error reply to return as is: FOREIGN_DATA for anything else (another Redis type, or a hash
--- without field d), which the script must leave untouched.
--- entry_state() replies 1 for an entry and 0 for nothing: one call for an entry (HEXISTS), two for nothing.
--- entry_state(true) replies the entry's number of fields (1 or more) and 0 for nothing: one call for
--- nothing (HLEN), two for an entry; for a script that must know whether the entry has fields to drop.
local function entry_state(count_fields)
  -- Either command on another type is an error, which pcall catches so the reply can say what is there.
  local state
  if count_fields then
    state = redis.pcall('HLEN', KEYS[1])
  else
    state = redis.pcall('HEXISTS', KEYS[1], 'd')
  end
  if type(state) == 'table' then
    if string.sub(state.err, 1, 9) ~= 'WRONGTYPE' then
      return state
    end
    return redis.error_reply('FOREIGN_DATA key holds a ' .. redis.call('TYPE', KEYS[1]).ok .. ', not a cache entry')
  end
  -- A hash has at least one field, so HLEN 0 is no key; HEXISTS 0 is no key or a hash without d.
  local foreign
  if count_fields then
    foreign = state > 0 and redis.call('HEXISTS', KEYS[1], 'd') == 0
  else
    foreign = state == 0 and redis.call('EXISTS', KEYS[1]) == 1
  end
  if foreign then
    return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
  end
  return state
end
