-- Feed health published by the market-data process every few seconds, for status, the
-- dashboard and /metrics. One row per feed (key '') and per instrument or symbol in a feed.
create table feed_health (
    feed text not null,
    key text not null default '',
    connected boolean not null,
    messages bigint not null default 0,
    malformed bigint not null default 0,
    reconnects integer not null default 0,
    age_seconds double precision,
    stale boolean not null,
    last_error text,
    updated_at timestamptz not null default now(),
    primary key (feed, key)
);
