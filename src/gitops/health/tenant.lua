-- Argo CD health for aerogrid Tenants (platform.aerogrid.io Tenant and XTenant), after
-- composite-prelude.lua. Lua 5.1 semantics.
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
