-- Argo CD health for Crossplane packages (pkg.crossplane.io Function and Configuration):
-- Healthy once installed and healthy, so that sync waves wait for them.
--
-- Healthy=False is Progressing, with Crossplane's message, not Degraded. Every install passes
-- through it (a Configuration whose Function dependency is not healthy yet, a Function whose
-- runtime has not started), and a sync wave treats Degraded as finished: with Degraded here (as
-- Argo CD's own pkg.crossplane.io check has it), the tenants' wave started before the Tenant and
-- App CRDs existed, and its first syncs failed. A package that never turns healthy holds the wave,
-- showing why.
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
      hs.message = "Not healthy yet: " .. tostring(c.message or c.reason or "Unhealthy")
    end
  end
end
if installed and healthy then
  hs.status = "Healthy"
  hs.message = "Installed and healthy"
end
return hs
