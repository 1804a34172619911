-- Shared opening of the Tenant and App health checks; `make build` puts it in front of each
-- (Argo CD runs every script on its own, with no require). It must never fail: a half-written
-- object (no status, no conditions, an unknown phase) is Progressing.
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
local message = status.message
if type(message) ~= "string" then
  message = nil
end
