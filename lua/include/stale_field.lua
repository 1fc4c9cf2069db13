--- The stale time of an entry (field s) as a number (false when it has none), or an error reply when it
--- is not one that write stores: decimal digits within the range of a JavaScript Date. tonumber alone
--- would also take '1.5', '0x10', ' 42 ', '1e3' and 'inf'.
local function stale_field(text)
  if not text then
    return false
  end
  local stale = string.find(text, '^%-?%d+$') and tonumber(text)
  if not stale or stale > 8640000000000000 or stale < -8640000000000000 then
    return redis.error_reply('FOREIGN_DATA field s of the entry is not an integer time in epoch milliseconds')
  end
  return stale
end
