#!lua flags=allow-oom
--- Removes many cache entries in one atomic step and replies, for each key in order, 1 when it removed an
--- entry there and 0 when it removed none (a key given again was removed already; a pending entry is
--- removed, as remove does, but not counted). When a key holds anything but a cache entry, nothing is
--- removed and the reply holds, at its position, the error remove would reply, as a string (0 elsewhere).
---@script remove_many
---@key entries... Hashes that hold the entries
---@include foreign_type
---@include entry_state
---@return (number | string)[]

local present, replies, failed = {}, {}, false
for i = 1, #KEYS do
  local state = entry_state(i)
  if type(state) == 'table' then
    replies[i], failed = state.err, true
  else
    replies[i], present[i] = 0, state
  end
end
if failed then
  return replies
end

for i = 1, #KEYS do
  if present[i] ~= 0 then
    -- DEL replies 0 for a key given again: it was removed already.
    local gone = redis.call('DEL', KEYS[i])
    replies[i] = present[i] == 1 and gone or 0
  end
end
return replies
