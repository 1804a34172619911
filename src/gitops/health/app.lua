-- Argo CD health for aerogrid Apps (platform.aerogrid.io App, XApp, and the legacy claim App).
-- Argo CD runs this with Lua 5.1 semantics and `obj` bound to the live object. It must never
-- fail: a half-written object (no status, no conditions, an unknown phase) is Progressing.
local hs = { status = "Progressing", message = "Waiting for the aerogrid function to report status" }
local status = obj.status
if type(status) ~= "table" then
  return hs
end
-- Synced=False: Crossplane or the function refused the spec (a FATAL result). It says why.
if type(status.conditions) == "table" then
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == "Synced" and c.status == "False" then
      hs.status = "Degraded"
      hs.message = tostring(c.message or c.reason or "Synced is False")
      return hs
    end
  end
end
local phase = status.phase
local message = status.message
if type(message) ~= "string" then
  message = nil
end
if phase == "Ready" then
  hs.status = "Healthy"
  hs.message = message or ("Serving at " .. tostring(status.url))
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message or "The build failed"
elseif phase == "Pending" or phase == "Building" or phase == "Deploying" then
  hs.status = "Progressing"
  hs.message = message or tostring(phase)
elseif phase ~= nil then
  hs.message = "Unknown phase " .. tostring(phase) .. (message and (": " .. message) or "")
end
return hs
