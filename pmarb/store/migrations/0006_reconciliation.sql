-- Every reconciliation pass (on start and periodically): what was compared with each venue and
-- what was repaired from it. Differences are listed in ``differences`` for the audit trail.
create table reconciliations (
    id bigserial primary key,
    venue text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    orders_checked integer not null,
    orders_repaired integer not null,
    positions_checked integer not null,
    positions_repaired integer not null,
    differences jsonb not null default '[]',
    error text
);

create index reconciliations_recent_idx on reconciliations (finished_at desc);
