-- Argo CD health for aerogrid Apps (platform.aerogrid.io App, XApp, and the legacy claim App),
-- after composite-prelude.lua. Lua 5.1 semantics.
local phase = status.phase
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
