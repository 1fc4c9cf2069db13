--- Writing an entry, in two steps so that a script over many keys checks them all before it writes any.
--- store_args(stale, ttl) checks the arguments: it replies the ttl as a number (false when '': none), or
--- an error reply. replace_entry(i, count, has_data, data, stale, ms, tags) then replaces the entry at
--- KEYS[i], whose entry_state(i, true) was count, has_data: afterwards it holds exactly field d = data
--- and, unless they are '', field s = stale and field t = tags, with a TTL of ms milliseconds (none when
--- false; zero or less: the entry is removed); it replies 1 when it stored the entry, 0 when it removed it.
--- store_entry(i, data, stale, ttl, tags) does both for one key, leaving a key that holds anything but an
--- entry or a pending entry untouched.
local function store_args(stale, ttl)
  -- string.find rather than string.match: it makes no copy of what it matched.
  if stale ~= '' and not string.find(stale, '^%-?%d+$') then
    return redis.error_reply('BAD_ARGUMENT stale must be an integer (epoch milliseconds), got ' .. stale)
  end
  if ttl == '' then
    return false
  end
  -- PEXPIRE refuses what overflows once added to the clock; refusing it here keeps the write all or nothing.
  local ms = string.find(ttl, '^%-?%d+$') and tonumber(ttl)
  if not (ms and ms <= 9007199254740991) then
    return redis.error_reply('BAD_ARGUMENT ttl must be an integer number of milliseconds up to 2^53-1, got ' .. ttl)
  end
  return ms
end

local function replace_entry(i, count, has_data, data, stale, ms, tags)
  if ms and ms <= 0 then
    if count > 0 then
      redis.call('DEL', KEYS[i])
    end
    return 0
  end

  -- Overwrite in place rather than DEL + HSET: in a slot that is being migrated, Redis Cluster refuses a
  -- script that recreates a key it has just deleted, which would leave the old entry gone and the new unwritten.
  -- Nothing but the fields this write sets may survive: an old s or t it does not set, a lease (field l), and
  -- fields that neither this backend nor hitbox writes. What HDEL and HSET reply, with the count, tells
  -- whether there are any, so a common write makes no call to find fields to drop.
  local wanted, dropped = 1, 0
  if stale ~= '' then
    wanted = wanted + 1
  elseif count > (has_data and 1 or 0) then
    -- The most common field to drop, dropped directly. It never deletes the key: d, or a lease, stays.
    dropped = redis.call('HDEL', KEYS[i], 's')
  end
  local added
  if tags ~= '' then
    wanted = wanted + 1
    if stale ~= '' then
      added = redis.call('HSET', KEYS[i], 'd', data, 's', stale, 't', tags)
    else
      added = redis.call('HSET', KEYS[i], 'd', data, 't', tags)
    end
  elseif stale ~= '' then
    added = redis.call('HSET', KEYS[i], 'd', data, 's', stale)
  else
    added = redis.call('HSET', KEYS[i], 'd', data)
  end
  if count - dropped + added > wanted then
    for _, field in ipairs(redis.call('HKEYS', KEYS[i])) do
      if field ~= 'd' and not (field == 's' and stale ~= '') and not (field == 't' and tags ~= '') then
        redis.call('HDEL', KEYS[i], field)
      end
    end
  end

  if ms then
    redis.call('PEXPIRE', KEYS[i], ms)
  elseif count > 0 then
    redis.call('PERSIST', KEYS[i])
  end
  return 1
end

local function store_entry(i, data, stale, ttl, tags)
  local ms = store_args(stale, ttl)
  if type(ms) == 'table' then
    return ms
  end
  local count, has_data = entry_state(i, true)
  if type(count) == 'table' then
    return count
  end
  return replace_entry(i, count, has_data, data, stale, ms, tags)
end
