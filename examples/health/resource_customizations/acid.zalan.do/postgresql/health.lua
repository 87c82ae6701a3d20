-- Health of a Zalando postgres-operator cluster (acid.zalan.do/v1
-- postgresql), from the one field the operator writes:
-- status.PostgresClusterStatus.  Written for gitsync's postgres-operator
-- example; load it with `gitsync health --lua-dir examples/health/resource_customizations`
-- or `gitsync agent --lua-dir ...`.
local hs = {}
local st = obj.status and obj.status.PostgresClusterStatus
if st == nil or st == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report the cluster's status"
elseif st == "Running" then
  hs.status = "Healthy"
  hs.message = "Cluster is running"
elseif st == "Creating" or st == "Updating" then
  hs.status = "Progressing"
  hs.message = "Cluster is " .. string.lower(st)
elseif string.find(st, "Failed$") or st == "Invalid" then
  hs.status = "Degraded"
  hs.message = "Cluster status is " .. st .. " (see the operator's log and events)"
else
  hs.status = "Unknown"
  hs.message = "Unexpected cluster status " .. st
end
return hs
