--- Writing an entry. store_args(stale, ttl) checks the arguments: it replies the ttl as a number (false
--- when '': none), or an error reply. Afterwards the entry at KEYS[i] holds exactly field d = data and,
--- unless they are '', field s = stale and field t = tags, with a TTL of ttl milliseconds (none when '';
--- zero or less: the entry is removed); 1 is replied when the entry was stored, 0 when it was removed.
--- store_entries(replies, first, last, data_at, stale, ttl, tags) checks and writes KEYS[first] to
--- KEYS[last], each on its own as if alone, key i with data ARGV[data_at + i] and the same stale, ttl and
--- tags, leaving a key that holds anything but an entry or a pending entry untouched: replies[i] is then 1,
--- 0 or the error reply; error_texts(replies, first, last) then puts each error's text in its place, for a
--- script that replies one element a key. replace_entry(i, count, data, stale, ms, ttl, tags) writes a key
--- already checked (entry_state(i, true) counted count fields, store_args gave ms), for a script over many
--- keys that checks them all before it writes any.
-- A local: string.find is two table lookups (the global string, then its field) at every use.
local find = string.find

local function store_args(stale, ttl)
  -- find rather than string.match: it makes no copy of what it matched.
  if stale ~= '' and not find(stale, '^%-?%d+$') then
    return redis.error_reply('BAD_ARGUMENT stale must be an integer (epoch milliseconds), got ' .. stale)
  end
  if ttl == '' then
    return false
  end
  -- PEXPIRE refuses what overflows once added to the clock, and a leading zero or sign; refusing them here
  -- keeps the write all or nothing.
  local ms = (ttl == '0' or find(ttl, '^%-?[1-9]%d*$')) and tonumber(ttl)
  if not (ms and ms <= 9007199254740991) then
    return redis.error_reply('BAD_ARGUMENT ttl must be an integer number of milliseconds up to 2^53-1, got ' .. ttl)
  end
  return ms
end

--- One HSET of field d (unless data is nil) and of s and t unless they are '': replies how many of the
--- fields were new and how many were set.
local function set_fields(i, data, stale, tags)
  if not data and stale == '' and tags == '' then
    return 0, 0
  end
  local fields, set = {}, 0
  if data then
    fields[1], fields[2], set = 'd', data, 1
  end
  if stale ~= '' then
    fields[2 * set + 1], fields[2 * set + 2], set = 's', stale, set + 1
  end
  if tags ~= '' then
    fields[2 * set + 1], fields[2 * set + 2], set = 't', tags, set + 1
  end
  return redis.call('HSET', KEYS[i], unpack(fields)), set
end

--- The end of every write, once its fields are set: count fields are there, wanted of them its own.
local function finish_entry(i, count, wanted, stale, ttl, tags, existed)
  if count > wanted then
    -- Nothing but the fields this write sets may survive: an old s or t it does not set, a lease (field l),
    -- and fields that neither this backend nor hitbox writes.
    for _, field in ipairs(redis.call('HKEYS', KEYS[i])) do
      if field ~= 'd' and not (field == 's' and stale ~= '') and not (field == 't' and tags ~= '') then
        redis.call('HDEL', KEYS[i], field)
      end
    end
  end
  -- The ttl as it came, already checked: a Lua number would be formatted back into a string for the call.
  if ttl ~= '' then
    redis.call('PEXPIRE', KEYS[i], ttl)
  elseif existed then
    redis.call('PERSIST', KEYS[i])
  end
  return 1
end

local function replace_entry(i, count, data, stale, ms, ttl, tags)
  if ms and ms <= 0 then
    if count > 0 then
      redis.call('DEL', KEYS[i])
    end
    return 0
  end
  -- Overwrite in place rather than DEL + HSET: in a slot that is being migrated, Redis Cluster refuses a
  -- script that recreates a key it has just deleted, which would leave the old entry gone and the new unwritten.
  local added, set = set_fields(i, data, stale, tags)
  return finish_entry(i, count + added, set, stale, ttl, tags, count > 0)
end

local function store_entries(replies, first, last, data_at, stale, ttl, tags)
  -- The common write, d alone with a TTL of 1 to 15 digits (below 2^53, no leading zero, as PEXPIRE reads
  -- it), is checked by one pattern and needs no number: every other one goes through store_args. In a script
  -- over many keys the Lua around the three calls costs as much as one of them, a function call per key
  -- included: hence the loop here, and its common path in one piece.
  local plain = stale == '' and tags == '' and #ttl <= 15 and find(ttl, '^[1-9]%d*$')
  local removing, ms = false, false
  if not plain then
    ms = store_args(stale, ttl)
    if type(ms) == 'table' then
      for i = first, last do
        replies[i] = ms
      end
      return
    end
    removing = ms and ms <= 0
  end
  for i = first, last do
    local data = ARGV[data_at + i]
    if removing then
      local count = entry_state(i, true)
      replies[i] = type(count) == 'table' and count or replace_entry(i, count, data, stale, ms, ttl, tags)
    else
      -- Field d first and alone, which checks the key in the same call: on another type HSET fails and
      -- changes nothing; from a hash that had no d, removing d again restores every field (s and t, which
      -- could overwrite a foreign hash's own, are set only once the key is known to be an entry). Only the
      -- hash's encoding may differ: a large value turns a small hash into a hashtable, which Redis never
      -- turns back.
      local added = redis.pcall('HSET', KEYS[i], 'd', data)
      -- HSET of one field replies 0 or 1; anything else is an error reply. Cheaper than type() in a loop.
      if added ~= 0 and added ~= 1 then
        replies[i] = foreign_type(i, added)
      else
        local count = redis.call('HLEN', KEYS[i])
        if added == 1 and count > 1 and redis.call('HEXISTS', KEYS[i], 'l') == 0 then
          redis.call('HDEL', KEYS[i], 'd')
          replies[i] = redis.error_reply('FOREIGN_DATA key holds a hash without field d, not a cache entry')
        elseif plain and count == 1 then
          redis.call('PEXPIRE', KEYS[i], ttl)
          replies[i] = 1
        else
          local added_others, others = set_fields(i, nil, stale, tags)
          replies[i] = finish_entry(i, count + added_others, 1 + others, stale, ttl, tags, count > added)
        end
      end
    end
  end
end

local function error_texts(replies, first, last)
  for i = first, last do
    -- 1 or 0, or an error reply, whose text goes in its place.
    if replies[i] ~= 1 and replies[i] ~= 0 then
      replies[i] = replies[i].err
    end
  end
end
