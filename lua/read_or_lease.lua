#!lua
--- Reads one cache entry for getOrSet and, in the same atomic step, decides who recomputes it. A fresh
--- entry (no field s, or now before s) is replied as read replies it, with lease 0 (its field t last). A missing, pending
--- or stale entry is recomputed by whoever holds its lease (field l): the caller takes it when nobody
--- holds it or its holder took it lockTimeout or more ago (by the server's clock, so clients' clocks
--- never decide a takeover), and the reply's lease is -1; otherwise the reply's lease is how many
--- milliseconds are left before the caller may take it over. A lease on a missing entry makes it a
--- pending entry (a hash with only field l) that lives pendingTtl milliseconds. An entry whose tags the
--- caller found invalidated (argument invalid) is missing to it. Refuses, without
--- touching it, a key that holds anything but a cache entry or a pending entry.
---@script read_or_lease
---@key entry Hash that holds the entry, or the pending entry of a getOrSet computing it
---@arg now integer The caller's clock in epoch milliseconds: the entry is stale from its field s on
---@arg token string The caller's lease token
---@arg lockTimeout integer Milliseconds after which another caller's lease may be taken over
---@arg pendingTtl integer TTL in milliseconds of the pending entry that a lease on a missing entry creates
---@arg refresh integer 1: take the lease of a stale entry too; 0: only that of a missing one
---@arg invalid? Buffer Field t of an entry whose tags were invalidated since it was written: an entry still holding exactly that is taken for missing
---@include foreign_type
---@include stale_field
---@return [data: Buffer | null, stale: number | null, pttl: number, lease: number, tags: Buffer | null]

local fields = redis.pcall('HMGET', KEYS[1], 'd', 's', 'l', 't')
if fields.err then
  return foreign_type(1, fields)
end

local data, stale, lease = fields[1], fields[2], fields[3]
-- The caller found the entry's tags invalidated (the tokens in t are no longer the tags' own): it is
-- recomputed as a missing one is, unless it was written again meanwhile.
local invalidated = data and ARGV[6] ~= '' and fields[4] == ARGV[6]
if invalidated then
  data, stale = false, false
elseif data then
  stale = stale_field(stale)
  if type(stale) == 'table' then
    return stale
  end
  if not stale or tonumber(ARGV[1]) < stale or ARGV[5] ~= '1' then
    return { data, stale or false, redis.call('PTTL', KEYS[1]), 0, fields[4] or false }
  end
elseif lease then
  stale = false
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
end

-- Missing, pending or stale: the lease decides who recomputes it.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local pttl = data and redis.call('PTTL', KEYS[1]) or -2
-- A field l that does not start with a time, or with one in the future (a clock stepped back, a failover
-- to a node whose clock is behind), is no lease anyone can wait for: it is taken over at once.
local start = lease and tonumber(string.match(lease, '^%d+'))
local wait = start and start <= now and start + tonumber(ARGV[3]) - now or 0
if wait > 0 then
  return { data or false, stale or false, pttl, wait, false }
end
redis.call('HSET', KEYS[1], 'l', now .. ' ' .. ARGV[2])
-- An invalidated entry keeps its own TTL: its data stays until the lease holder replaces it.
if not data and not invalidated then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return { data or false, stale or false, pttl, -1, false }
