#!lua
--- Replaces many cache entries in one step, each exactly as write replaces one, in the order of the keys
--- (a key given twice ends with its last value). Replies, for each key in order, 1 when it stored the
--- entry, 0 when it removed it (a ttl of zero or less), or the error write would reply, as a string.
--- atomic 1: every argument and key is checked first, and on any error nothing is written (the reply
--- holds the errors, and 0 for the other keys). atomic 0: each key on its own, as separate writes would be.
---@script write_many
---@key entries... Hashes that hold the entries
---@arg atomic integer 1: all or nothing; 0: each entry on its own
---@arg fields... Buffer | string For each entry in turn, three arguments: its data, its stale time in epoch milliseconds ('' for none) and its ttl in milliseconds ('' for none)
---@include foreign_type
---@include entry_state
---@include store_entry
---@return (number | string)[]

if #ARGV ~= 3 * #KEYS + 1 then
  return redis.error_reply('BAD_ARGUMENT write_many takes three arguments per key, got ' .. (#ARGV - 1) .. ' for ' .. #KEYS .. ' keys')
end
if ARGV[1] == '0' then
  -- Each key on its own: checked and written in one pass, as that many writes would be.
  local replies = {}
  for i = 1, #KEYS do
    -- Key i's data is ARGV[3 * i - 1], that is ARGV[data_at + i] for data_at = 2 * i - 1.
    store_entries(replies, i, i, 2 * i - 1, ARGV[3 * i], ARGV[3 * i + 1], '')
  end
  error_texts(replies, 1, #KEYS)
  return replies
end
local replies, counts, ttls, failed = {}, {}, {}, false
for i = 1, #KEYS do
  local ms = store_args(ARGV[3 * i], ARGV[3 * i + 1])
  local count
  if type(ms) ~= 'table' then
    count = entry_state(i, true)
  end
  local problem = type(ms) == 'table' and ms or type(count) == 'table' and count
  if problem then
    replies[i], failed = problem.err, true
  else
    replies[i], counts[i], ttls[i] = 0, count, ms
  end
end
if failed and ARGV[1] == '1' then
  return replies
end

local written = {}
for i = 1, #KEYS do
  if counts[i] then
    -- A key given again was changed by its earlier write: what it holds now decides what to drop.
    local count = counts[i]
    if written[KEYS[i]] then
      count = entry_state(i, true)
    end
    written[KEYS[i]] = true
    replies[i] = replace_entry(i, count, ARGV[3 * i - 1], ARGV[3 * i], ttls[i], ARGV[3 * i + 1], '')
  end
end
return replies
