#!/bin/sh
# Creates Temporal's databases and brings their schemas to the image's version with the official
# admin tools. Safe to re-run: an existing database or applied version is left as it is.
set -eu
args="--plugin postgres12 --ep postgres -u ${POSTGRES_USER} -p 5432"
export SQL_PASSWORD="${POSTGRES_PASSWORD}"
for db in temporal temporal_visibility; do
  temporal-sql-tool $args --db "$db" create || true
done
temporal-sql-tool $args --db temporal setup-schema -v 0.0 || true
temporal-sql-tool $args --db temporal update-schema \
  -d /etc/temporal/schema/postgresql/v12/temporal/versioned
temporal-sql-tool $args --db temporal_visibility setup-schema -v 0.0 || true
temporal-sql-tool $args --db temporal_visibility update-schema \
  -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "temporal schema ready"
