-- Argo CD health for Applications, so that an app-of-apps waits on its children's health
-- (Argo CD stopped assessing Application health by default in 1.8).
local hs = { status = "Progressing", message = "" }
if type(obj.status) == "table" and type(obj.status.health) == "table" and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  hs.message = tostring(obj.status.health.message or "")
end
return hs
