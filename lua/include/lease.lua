--- A lease (field l of an entry's hash) is '<start> <token>': the server's clock in milliseconds when it
--- was taken, and the token of the getOrSet that holds it. lease_token replies the token, or nil for a
--- field that is not a lease.
local function lease_token(lease)
  local space = string.find(lease, ' ', 1, true)
  return space and string.sub(lease, space + 1)
end
