-- Argo CD health for aerogrid Tenants (platform.aerogrid.io Tenant and XTenant).
-- Lua 5.1 semantics; must never fail on a half-written object.
local hs = { status = "Progressing", message = "Waiting for the aerogrid function to report status" }
local status = obj.status
if type(status) ~= "table" then
  return hs
end
if type(status.conditions) == "table" then
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == "Synced" and c.status == "False" then
      hs.status = "Degraded"
      hs.message = tostring(c.message or c.reason or "Synced is False")
      return hs
    end
  end
end
local message = status.message
if type(message) ~= "string" then
  message = nil
end
if status.phase == "Ready" then
  hs.status = "Healthy"
  hs.message = message or "Ready"
elseif status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message or "Failed"
elseif status.phase == "Pending" then
  hs.message = message or "Pending"
elseif status.phase ~= nil then
  hs.message = "Unknown phase " .. tostring(status.phase)
end
return hs
