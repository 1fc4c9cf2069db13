#!lua
--- Replaces many cache entries in one atomic step, each exactly as write replaces one, in the order of
--- the keys (a key given twice ends with its last value). Every argument and every key is checked before
--- anything is written: a bad argument or a key that holds anything but a cache entry refuses the whole
--- call, naming its position ('entry <n>: ...', from 1), and nothing is written. Replies how many entries
--- it stored (an entry whose ttl is zero or less is removed instead).
---@script write_many
---@key entries... Hashes that hold the entries
---@arg fields... Buffer | string For each entry in turn, three arguments: its data, its stale time in epoch milliseconds ('' for none) and its ttl in milliseconds ('' for none)
---@include entry_state
---@include store_entry
---@include batch_error
---@return number

if #ARGV ~= 3 * #KEYS then
  return redis.error_reply('BAD_ARGUMENT write_many takes three arguments per key, got ' .. #ARGV .. ' for ' .. #KEYS .. ' keys')
end
local counts, data_fields, ttls = {}, {}, {}
for i = 1, #KEYS do
  local ms = store_args(ARGV[3 * i - 1], ARGV[3 * i])
  if type(ms) == 'table' then
    return batch_error(i, ms)
  end
  local count, has_data = entry_state(i, true)
  if type(count) == 'table' then
    return batch_error(i, count)
  end
  counts[i], data_fields[i], ttls[i] = count, has_data, ms
end

local stored, written = 0, {}
for i = 1, #KEYS do
  -- A key given again was changed by its earlier write: what it holds now decides what to drop.
  local count, has_data = counts[i], data_fields[i]
  if written[KEYS[i]] then
    count, has_data = entry_state(i, true)
  end
  written[KEYS[i]] = true
  stored = stored + replace_entry(i, count, has_data, ARGV[3 * i - 2], ARGV[3 * i - 1], ttls[i], '')
end
return stored
