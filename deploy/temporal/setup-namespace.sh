#!/bin/sh
# The default namespace and the search attributes that make every lifecycle findable in the UI.
set -eu
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" | grep -q SERVING; do
  sleep 1
done
temporal operator namespace describe --namespace default --address "${TEMPORAL_ADDRESS}" \
  || temporal operator namespace create --namespace default --retention 30d \
       --address "${TEMPORAL_ADDRESS}"
for name in Strategy Venue Market OpportunityKind Stage; do
  temporal operator search-attribute create --namespace default --name "$name" --type Keyword \
    --address "${TEMPORAL_ADDRESS}" || true
done
echo "namespace and search attributes ready"
