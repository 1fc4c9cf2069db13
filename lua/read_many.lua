#!lua flags=no-writes
--- Reads many cache entries in one atomic step and replies, for each key in order, four elements: what
--- read replies for it (data, stale, pttl, tags) for an entry; four nils for a missing or pending entry;
--- for a key that holds anything but a cache entry, the error read would reply, as bulk string (FOREIGN_DATA
--- ...) and three nils: one key's foreign data does not keep the others from being read. An entry's pttl
--- is never nil, so it tells the three apart. A key given twice is read twice. Flat rather than one array
--- per key: the server converts every Lua table of a reply to RESP at a cost of its own.
---@script read_many
---@key entries... Hashes that hold the entries, each as read reads it
---@include foreign_type
---@include stale_field
---@include read_entry
---@return (Buffer | number | null)[]

local replies = {}
read_entries(replies, 1, #KEYS)
return replies
