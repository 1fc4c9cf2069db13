#!lua flags=allow-oom
--- Removes many cache entries in one atomic step and replies how many entries it removed (a key given
--- twice counts once; pending entries are removed, as remove does, but not counted). When a key holds
--- anything but a cache entry, the whole call is refused with FOREIGN_DATA naming its position
--- ('entry <n>: ...', from 1), and nothing is removed.
---@script remove_many
---@key entries... Hashes that hold the entries
---@include entry_state
---@include batch_error
---@return number

local present = {}
for i = 1, #KEYS do
  local state = entry_state(i)
  if type(state) == 'table' then
    return batch_error(i, state)
  end
  present[i] = state
end

local removed = 0
for i = 1, #KEYS do
  if present[i] ~= 0 then
    -- DEL replies 0 for a key given again: it was removed already.
    local gone = redis.call('DEL', KEYS[i])
    if present[i] == 1 then
      removed = removed + gone
    end
  end
end
return removed
