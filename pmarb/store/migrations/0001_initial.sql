-- pmarb initial schema. Money and sizes are NUMERIC; times are timestamptz (UTC).

create table venues (
    id text primary key,
    display_name text not null,
    enabled boolean not null default true,
    paper boolean not null default true,
    -- AES-GCM ciphertext (nonce || ciphertext+tag) of a JSON credentials document
    credentials_ciphertext bytea,
    credentials_key_id text,
    updated_at timestamptz not null default now()
);

insert into venues (id, display_name) values
    ('polymarket', 'Polymarket'),
    ('kalshi', 'Kalshi');

create table markets (
    venue text not null references venues (id),
    market_id text not null,
    event_id text,
    series_id text,
    title text not null,
    subtitle text not null default '',
    rules text not null default '',
    rules_hash text not null,
    outcomes jsonb not null,
    close_time timestamptz,
    observation_time timestamptz,
    settlement_source text,
    category text,
    status text not null,
    neg_risk boolean not null default false,
    tick_size numeric,
    min_size numeric,
    fee_schedule jsonb,
    raw jsonb,
    first_seen_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (venue, market_id)
);

create index markets_close_time_idx on markets (close_time);

create table market_matches (
    id bigserial primary key,
    venue_a text not null,
    market_a text not null,
    venue_b text not null,
    market_b text not null,
    relation text not null check (
        relation in ('equivalent', 'inverted', 'related_not_equivalent', 'different', 'uncertain')
    ),
    confidence numeric not null check (confidence >= 0 and confidence <= 1),
    evidence jsonb not null default '{}'::jsonb,
    rules_hash_a text not null,
    rules_hash_b text not null,
    decided_by text not null check (decided_by in ('parser', 'model', 'human')),
    tradable boolean not null default false,
    review_status text not null default 'none' check (
        review_status in ('none', 'pending', 'confirmed', 'rejected')
    ),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (venue_a, market_a, venue_b, market_b),
    foreign key (venue_a, market_a) references markets (venue, market_id),
    foreign key (venue_b, market_b) references markets (venue, market_id)
);

create index market_matches_review_idx on market_matches (review_status)
    where review_status = 'pending';

create table opportunities (
    id text primary key,
    kind text not null check (kind in ('intra_venue', 'cross_venue', 'oracle_lag')),
    detected_at timestamptz not null,
    expires_at timestamptz not null,
    edge numeric not null,
    size numeric not null,
    legs jsonb not null,
    quotes jsonb not null,
    fair_value numeric,
    status text not null default 'detected',
    workflow_id text,
    updated_at timestamptz not null default now()
);

create index opportunities_detected_idx on opportunities (detected_at desc);

create table trade_requests (
    id bigserial primary key,
    opportunity_id text references opportunities (id),
    workflow_id text not null unique,
    strategy text not null,
    requested_at timestamptz not null default now(),
    bid jsonb not null,
    risk_decision text check (risk_decision in ('approved', 'rejected')),
    risk_reason text,
    status text not null default 'requested',
    execution jsonb,
    slippage numeric,
    fees numeric,
    pnl numeric,
    attribution jsonb,
    updated_at timestamptz not null default now()
);

create index trade_requests_strategy_idx on trade_requests (strategy, requested_at desc);

create table orders (
    id bigserial primary key,
    client_order_id text not null unique,
    venue_order_id text,
    trade_request_id bigint references trade_requests (id),
    workflow_id text,
    leg text,
    venue text not null references venues (id),
    market_id text not null,
    instrument_id text not null,
    outcome text not null check (outcome in ('yes', 'no')),
    side text not null check (side in ('buy', 'sell')),
    time_in_force text not null check (time_in_force in ('fok', 'fak', 'gtc', 'gtd')),
    price numeric not null,
    size numeric not null,
    filled_size numeric not null default 0,
    average_price numeric,
    fees numeric not null default 0,
    status text not null,
    reason text,
    paper boolean not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index orders_workflow_idx on orders (workflow_id);

create table fills (
    id bigserial primary key,
    venue text not null references venues (id),
    venue_fill_id text not null,
    client_order_id text references orders (client_order_id),
    venue_order_id text not null,
    market_id text not null,
    instrument_id text not null,
    outcome text not null check (outcome in ('yes', 'no')),
    side text not null check (side in ('buy', 'sell')),
    price numeric not null,
    size numeric not null,
    fee numeric not null default 0,
    is_taker boolean not null,
    filled_at timestamptz not null,
    unique (venue, venue_fill_id)
);

create table positions (
    venue text not null references venues (id),
    market_id text not null,
    outcome text not null check (outcome in ('yes', 'no')),
    instrument_id text not null,
    size numeric not null default 0,
    average_price numeric not null default 0,
    realized_pnl numeric not null default 0,
    fees numeric not null default 0,
    updated_at timestamptz not null default now(),
    primary key (venue, market_id, outcome)
);

create table trades (
    id bigserial primary key,
    trade_request_id bigint not null references trade_requests (id),
    opportunity_id text references opportunities (id),
    strategy text not null,
    opened_at timestamptz not null default now(),
    closed_at timestamptz,
    status text not null default 'open' check (status in ('open', 'closed', 'settled', 'unwound')),
    cost numeric not null default 0,
    fees numeric not null default 0,
    realized_pnl numeric,
    attribution jsonb
);

create index trades_strategy_idx on trades (strategy, opened_at desc);

create table strategy_performance (
    strategy text not null,
    as_of date not null,
    window_days integer not null,
    trades integer not null,
    pnl numeric not null,
    sharpe numeric,
    win_rate numeric,
    max_drawdown numeric,
    computed_at timestamptz not null default now(),
    primary key (strategy, as_of)
);

create table allocations (
    strategy text not null,
    effective_date date not null,
    fraction numeric not null check (fraction >= 0 and fraction <= 1),
    capital numeric not null,
    status text not null check (status in ('active', 'paused')),
    reason text not null,
    created_at timestamptz not null default now(),
    primary key (strategy, effective_date)
);

create table risk_events (
    id bigserial primary key,
    occurred_at timestamptz not null default now(),
    kind text not null,
    reason_code text not null,
    workflow_id text,
    strategy text,
    venue text,
    market_id text,
    details jsonb not null default '{}'::jsonb
);

create index risk_events_time_idx on risk_events (occurred_at desc);

create table alerts (
    id bigserial primary key,
    tier text not null check (tier in ('routine', 'important', 'critical', 'emergency')),
    title text not null,
    body text not null,
    dedupe_key text,
    created_at timestamptz not null default now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    deliveries jsonb not null default '[]'::jsonb
);

create index alerts_open_idx on alerts (created_at desc) where acknowledged_at is null;

create table portfolio_snapshots (
    id bigserial primary key,
    taken_at timestamptz not null default now(),
    value numeric not null,
    cash numeric not null,
    deployed numeric not null,
    unrealized_pnl numeric not null default 0,
    realized_pnl numeric not null default 0,
    high_water_mark numeric,
    floor numeric
);

create index portfolio_snapshots_time_idx on portfolio_snapshots (taken_at desc);

-- The kill switch's source of truth: one row, read by the order path before every order.
create table risk_state (
    singleton boolean primary key default true check (singleton),
    halted boolean not null default false,
    halt_reason text,
    halted_at timestamptz,
    halted_by text,
    paused_until timestamptz,
    updated_at timestamptz not null default now()
);

insert into risk_state default values;
