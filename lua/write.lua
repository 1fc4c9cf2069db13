#!lua
--- Replaces one cache entry atomically. Afterwards the hash holds exactly field d and, when given,
--- field s, and its TTL is exactly ttl (none when absent): nothing of a previous entry survives.
--- A ttl of zero or less stores nothing and removes the previous entry. Refuses, without touching
--- it, a key that holds anything but a cache entry. Every argument is checked before anything changes.
---@script write
---@key entry Hash that holds the entry
---@arg data Buffer Data bytes, stored in field d
---@arg stale? integer Stale time in epoch milliseconds, stored in field s; absent: no field s
---@arg ttl? integer Milliseconds the entry lives; absent: no TTL; zero or less: the entry is removed
---@include entry_state
---@return 0 | 1

local stale, ttl = ARGV[2], ARGV[3]
-- string.find rather than string.match: it makes no copy of what it matched.
if stale ~= '' and not string.find(stale, '^%-?%d+$') then
  return redis.error_reply('BAD_ARGUMENT stale must be an integer (epoch milliseconds), got ' .. stale)
end
-- PEXPIRE refuses what overflows once added to the clock; refusing it here keeps the write all or nothing.
local ms = ttl ~= '' and string.find(ttl, '^%-?%d+$') and tonumber(ttl)
if ttl ~= '' and not (ms and ms <= 9007199254740991) then
  return redis.error_reply('BAD_ARGUMENT ttl must be an integer number of milliseconds up to 2^53-1, got ' .. ttl)
end

-- The number of fields of the entry (0: no key): with HSET's count of new fields, it tells whether
-- anything but d and s is there, so a common write makes no call to find fields to drop.
local count = entry_state(true)
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
-- Nothing but d (and s when given) may survive: an old s this write does not set, and fields that neither
-- this backend nor hitbox writes. What HDEL and HSET reply, with the count, tells whether there are any.
local extra
if stale == '' then
  -- The entry has d, so dropping s never deletes the key.
  extra = count > 1 and count - redis.call('HDEL', KEYS[1], 's') > 1
  redis.call('HSET', KEYS[1], 'd', ARGV[1])
else
  -- HSET replies how many fields it added: s or nothing to an entry (it has d), d and s to no key.
  extra = count + redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', stale) > 2
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
