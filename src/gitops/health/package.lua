-- Argo CD health for Crossplane packages (pkg.crossplane.io Function and Configuration):
-- Healthy once installed and healthy, so that sync waves wait for them.
local hs = { status = "Progressing", message = "Waiting for the package to install" }
if type(obj.status) ~= "table" or type(obj.status.conditions) ~= "table" then
  return hs
end
local installed, healthy = false, false
for _, c in ipairs(obj.status.conditions) do
  if type(c) == "table" then
    if c.type == "Installed" and c.status == "True" then installed = true end
    if c.type == "Healthy" and c.status == "True" then healthy = true end
    if c.type == "Healthy" and c.status == "False" then
      hs.status = "Degraded"
      hs.message = tostring(c.message or c.reason or "Unhealthy")
      return hs
    end
  end
end
if installed and healthy then
  hs.status = "Healthy"
  hs.message = "Installed and healthy"
end
return hs
