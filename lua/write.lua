#!lua
--- Replaces one cache entry atomically. Afterwards the hash holds exactly field d and, when given,
--- fields s and t, and its TTL is exactly ttl (none when absent): nothing of a previous entry survives, a
--- pending getOrSet's lease included (its late result is then not stored). A ttl of zero or less stores
--- nothing and removes the previous entry. Refuses, without touching it, a key that holds anything but
--- a cache entry. Every argument is checked before anything changes.
---@script write
---@key entry Hash that holds the entry
---@arg data Buffer Data bytes, stored in field d
---@arg stale? integer Stale time in epoch milliseconds, stored in field s; absent: no field s
---@arg ttl? integer Milliseconds the entry lives; absent: no TTL; zero or less: the entry is removed
---@arg tags? Buffer Field t: the entry's tags and their tokens when it was written; absent: no field t
---@include foreign_type
---@include entry_state
---@include store_entry
---@return 0 | 1

local replies = {}
store_entries(replies, 1, 1, 0, ARGV[2], ARGV[3], ARGV[4])
return replies[1]
