-- Argo CD health check for the collab.dev kinds Collaborator, ProviderConfig,
-- ClusterProviderConfig and AccessPolicy
-- (resource.customizations.health.collab.dev_Collaborator, ..._ProviderConfig,
-- ..._ClusterProviderConfig and ..._AccessPolicy in argocd-cm).
--
-- It reads status the way kstatus (and so Flux) does, so that Argo CD and
-- Flux users see the same thing:
--   1. status.observedGeneration differs from metadata.generation
--      -> Progressing: the operator has not yet acted on the latest spec,
--      so whatever the conditions say describes an older spec.
--   2. Reconciling=True -> Progressing, with its message, which says what
--      the operator is doing or retrying (a ProviderConfig or
--      ClusterProviderConfig being deleted while in use is
--      Reconciling=True InUse yet still Ready=True).
--   3. Stalled=True  -> Degraded: only a change by a person can help
--      (CredentialsInvalid, Rejected, ProviderMismatch, BaseURLNotAllowed,
--      NotPermitted by a ClusterProviderConfig's grants, Drifted under
--      managementPolicy Observe; for an AccessPolicy, UnmanagedMembers and
--      RemovalLimit).
-- Before all of these, collab.dev/paused: "true" -> Suspended.
--   4. Ready=True    -> Healthy (Available, DeleteOnly, Expired: access
--      that ended as spec.expiresAt said is the healthy outcome; Compliant
--      for an AccessPolicy).
--   5. anything else -> Progressing, with the Ready message.
-- This is kstatus' order (observedGeneration, Reconciling, Stalled, Ready),
-- so Argo CD and Flux always agree.
--
-- Argo CD runs health scripts with only the base, table, package and a safe
-- os library loaded: no string library, so this script uses none.

local function condition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- describe prefers a condition's message, which says what to do, over its
-- CamelCase reason.
local function describe(c)
  if c == nil then
    return nil
  end
  if c.message ~= nil and c.message ~= "" then
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason .. ": " .. c.message
    end
    return c.message
  end
  return c.reason
end

local hs = {}
local status = obj.status
local generation = obj.metadata.generation

-- A Collaborator paused with collab.dev/paused: "true" gets no provider
-- call at all; Suspended is Argo CD's status for a paused resource.
if obj.metadata.annotations ~= nil and obj.metadata.annotations["collab.dev/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Paused (collab.dev/paused): the operator makes no provider call for this object"
  return hs
end

if status == nil or status.observedGeneration == nil or status.observedGeneration ~= generation then
  hs.status = "Progressing"
  if generation ~= nil then
    hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  else
    hs.message = "Waiting for the operator to observe the object"
  end
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready)
if hs.message == nil then
  hs.message = "Waiting for the operator to report Ready"
end
return hs
