#!lua
--- Replaces many cache entries that share one stale time and one ttl, each on its own exactly as write
--- replaces one, in the order of the keys (a key given twice ends with its last value): write_many with
--- atomic 0, its arguments checked once for every key. What a backend merging the writes of one tick sends.
--- Replies, for each key in order, 1 when it stored the entry, 0 when it removed it (a ttl of zero or
--- less), or the error write would reply, as a string.
---@script write_many_uniform
---@key entries... Hashes that hold the entries
---@arg stale? integer Stale time of every entry in epoch milliseconds; absent: no field s
---@arg ttl? integer Milliseconds every entry lives; absent: no TTL; zero or less: the entries are removed
---@arg data... Buffer The data of each entry in turn
---@include foreign_type
---@include entry_state
---@include store_entry
---@return (number | string)[]

if #ARGV ~= #KEYS + 2 then
  return redis.error_reply('BAD_ARGUMENT write_many_uniform takes a stale time, a ttl and a data per key, got ' .. #ARGV .. ' arguments for ' .. #KEYS .. ' keys')
end
local replies = {}
store_entries(replies, 1, #KEYS, 2, ARGV[1], ARGV[2], '')
error_texts(replies, 1, #KEYS)
return replies
