-- Deletes one configuration document and every document it owns, unless another document
-- still references it.
--
-- KEYS[1]  the document's hash (<base>doc:<kind>:<id>), declared for cluster routing.
-- ARGV[1]  base: "<prefix>:{cfg}:"      ARGV[2]  kind      ARGV[3]  id
--
-- Returns {"ok"}, {"not_found"}, or {"in_use", "kind:id", ...} (then nothing has changed).
local base, kind, id = ARGV[1], ARGV[2], ARGV[3]
local self_ref = kind .. ':' .. id

if redis.call('EXISTS', KEYS[1]) == 0 then return {'not_found'} end

local users = redis.call('SMEMBERS', base .. 'refby:' .. self_ref)
if #users > 0 then
  table.sort(users)
  table.insert(users, 1, 'in_use')
  return users
end

-- Removes one document and every index entry pointing at or from it.
local function remove(ref)
  local sep = string.find(ref, ':', 1, true)
  local rkind, rid = string.sub(ref, 1, sep - 1), string.sub(ref, sep + 1)
  local doc = base .. 'doc:' .. ref
  for _, r in ipairs(cjson.decode(redis.call('HGET', doc, 'refs') or '[]')) do
    redis.call('SREM', base .. 'refby:' .. r, ref)
  end
  for _, u in ipairs(cjson.decode(redis.call('HGET', doc, 'uniques') or '[]')) do
    redis.call('HDEL', base .. 'unique:' .. rkind .. ':' .. u[1], u[2])
  end
  local owner = redis.call('HGET', doc, 'owner')
  if owner and owner ~= '' then
    redis.call('SREM', base .. 'children:' .. owner, ref)
  end
  redis.call('DEL', doc, base .. 'refby:' .. ref)
  redis.call('ZREM', base .. 'index:' .. rkind, rid)
end

for _, child in ipairs(redis.call('SMEMBERS', base .. 'children:' .. self_ref)) do
  remove(child)
end
redis.call('DEL', base .. 'children:' .. self_ref)
remove(self_ref)
-- Other processes learn of the change from the catalog's version (see config_put.lua).
redis.call('INCR', base .. 'version')
return {'ok'}
