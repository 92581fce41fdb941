-- The market matcher: structured strikes on markets, decision details on market_matches,
-- cached model verdicts, the cost of every model call, and per-run candidate pairs.

alter table markets
    add column strike_type text,
    add column floor_strike numeric,
    add column cap_strike numeric,
    add column settled_outcome text check (settled_outcome in ('yes', 'no')),
    add column terms_hash text;

create index markets_status_idx on markets (venue, status);

-- A pair is stored once, (venue_a, market_a) < (venue_b, market_b). terms_hash_* cover the
-- rules and every other stated term; a change to either re-opens the pair.
alter table market_matches
    add column terms_hash_a text not null default '',
    add column terms_hash_b text not null default '',
    add column needs_model boolean not null default false,
    add column model text,
    add column reviewed_by text,
    add column reviewed_at timestamptz;

create index market_matches_tradable_idx on market_matches (tradable) where tradable;

create table match_verdicts (
    terms_hash_a text not null,
    terms_hash_b text not null,
    adjudicator text not null,
    verdict jsonb not null,
    created_at timestamptz not null default now(),
    primary key (terms_hash_a, terms_hash_b, adjudicator)
);

create table llm_calls (
    id bigserial primary key,
    called_at timestamptz not null default now(),
    purpose text not null,
    model text not null,
    status text not null check (status in ('ok', 'invalid_output', 'error')),
    venue_a text,
    market_a text,
    venue_b text,
    market_b text,
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    cache_creation_input_tokens integer not null default 0,
    cache_read_input_tokens integer not null default 0,
    cost_usd numeric not null default 0,
    latency_ms integer not null default 0,
    request_id text,
    error text
);

create index llm_calls_time_idx on llm_calls (called_at desc);

create table match_candidates (
    run_id text not null,
    seq integer not null,
    venue_a text not null,
    market_a text not null,
    venue_b text not null,
    market_b text not null,
    created_at timestamptz not null default now(),
    primary key (run_id, seq)
);
