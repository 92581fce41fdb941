-- Trading core: exposure reservations, current risk limits, order purposes, audit details.

-- Capital a lifecycle may use, held from risk approval until the trade is closed. Limits are
-- checked against the sum of active reservations, so exposure is counted once and never late.
create table exposure_reservations (
    workflow_id text primary key,
    strategy text not null,
    capital numeric not null check (capital >= 0),
    status text not null default 'active' check (status in ('active', 'released')),
    created_at timestamptz not null default now(),
    released_at timestamptz
);

create table exposure_reservation_legs (
    workflow_id text not null references exposure_reservations (workflow_id),
    venue text not null,
    market_id text not null,
    amount numeric not null check (amount >= 0),
    primary key (workflow_id, venue, market_id)
);

create index exposure_reservation_legs_market_idx on exposure_reservation_legs (venue, market_id);

-- The limits the guardian enforces now (set_limits changes them without a restart).
alter table risk_state add column limits jsonb;

alter table orders add column purpose text not null default 'open'
    check (purpose in ('open', 'hedge', 'unwind', 'exit'));
alter table orders add column strategy text;

alter table trade_requests add column decided_at timestamptz;
alter table trade_requests add column closed_at timestamptz;
alter table trade_requests add column opportunity_kind text;

alter table risk_events add column opportunity_id text;

create index trade_requests_status_idx on trade_requests (status);
create index orders_status_idx on orders (status) where status in ('pending', 'open', 'partially_filled');

-- One trade per lifecycle: recording twice updates, never duplicates.
create unique index trades_trade_request_idx on trades (trade_request_id);
