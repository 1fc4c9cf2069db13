--- Replaces the entry at KEYS[1] with exactly field d = data and, unless stale is '', field s = stale,
--- with a TTL of ttl milliseconds ('' : none; zero or less: the entry is removed). Every argument is
--- checked before anything changes; a key that holds anything but a cache entry or a pending entry is
--- left untouched. Replies 1 when it stored the entry, 0 when it removed it, or an error reply.
local function store_entry(data, stale, ttl)
  -- string.find rather than string.match: it makes no copy of what it matched.
  if stale ~= '' and not string.find(stale, '^%-?%d+$') then
    return redis.error_reply('BAD_ARGUMENT stale must be an integer (epoch milliseconds), got ' .. stale)
  end
  -- PEXPIRE refuses what overflows once added to the clock; refusing it here keeps the write all or nothing.
  local ms = ttl ~= '' and string.find(ttl, '^%-?%d+$') and tonumber(ttl)
  if ttl ~= '' and not (ms and ms <= 9007199254740991) then
    return redis.error_reply('BAD_ARGUMENT ttl must be an integer number of milliseconds up to 2^53-1, got ' .. ttl)
  end

  -- The number of fields (0: no key) and whether d is one: with HSET's count of new fields, they tell
  -- whether anything but d and s is there, so a common write makes no call to find fields to drop.
  local count, has_data = entry_state(true)
  if type(count) == 'table' then
    return count
  end

  if ms and ms <= 0 then
    if count > 0 then
      redis.call('DEL', KEYS[1])
    end
    return 0
  end

  -- Overwrite in place rather than DEL + HSET: in a slot that is being migrated, Redis Cluster refuses a
  -- script that recreates a key it has just deleted, which would leave the old entry gone and the new unwritten.
  -- Nothing but d (and s when given) may survive: an old s this write does not set, a lease (field l), and
  -- fields that neither this backend nor hitbox writes. What HDEL and HSET reply, with the count, tells
  -- whether there are any.
  local extra
  if stale == '' then
    -- Dropping s never deletes the key: it has d, or a lease and so a field that stays until below.
    local kept = has_data and 1 or 0
    extra = count > kept and count - redis.call('HDEL', KEYS[1], 's') > kept
    redis.call('HSET', KEYS[1], 'd', data)
  else
    -- HSET replies how many fields it added: s or nothing to an entry (it has d), d and s to no key.
    extra = count + redis.call('HSET', KEYS[1], 'd', data, 's', stale) > 2
  end
  if extra then
    for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
      if field ~= 'd' and field ~= 's' then
        redis.call('HDEL', KEYS[1], field)
      end
    end
  end

  if ttl ~= '' then
    redis.call('PEXPIRE', KEYS[1], ttl)
  elseif count > 0 then
    redis.call('PERSIST', KEYS[1])
  end
  return 1
end
