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
if stale ~= '' and not string.match(stale, '^%-?%d+$') then
  return redis.error_reply('BAD_ARGUMENT stale must be an integer (epoch milliseconds), got ' .. stale)
end
-- PEXPIRE refuses what overflows once added to the clock; refusing it here keeps the write all or nothing.
if ttl ~= '' and not (string.match(ttl, '^%-?%d+$') and tonumber(ttl) <= 9007199254740991) then
  return redis.error_reply('BAD_ARGUMENT ttl must be an integer number of milliseconds up to 2^53-1, got ' .. ttl)
end

local present = entry_state()
if type(present) == 'table' then
  return present
end

if ttl ~= '' and tonumber(ttl) <= 0 then
  if present == 1 then
    redis.call('DEL', KEYS[1])
  end
  return 0
end

-- Overwrite in place rather than DEL + HSET: in a slot that is being migrated, Redis Cluster refuses a
-- script that recreates a key it has just deleted, which would leave the old entry gone and the new unwritten.
if present == 1 then
  -- Nothing but field d may survive: an old s this write does not set, and fields that neither this
  -- backend nor hitbox writes. HLEN tells in one call whether there is anything to drop.
  local count = redis.call('HLEN', KEYS[1])
  if count > 1 and not (count == 2 and stale ~= '' and redis.call('HEXISTS', KEYS[1], 's') == 1) then
    for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
      if field ~= 'd' then
        redis.call('HDEL', KEYS[1], field)
      end
    end
  end
end
if stale == '' then
  redis.call('HSET', KEYS[1], 'd', ARGV[1])
else
  redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', stale)
end

if ttl ~= '' then
  redis.call('PEXPIRE', KEYS[1], ttl)
elseif present == 1 then
  redis.call('PERSIST', KEYS[1])
end
return 1
