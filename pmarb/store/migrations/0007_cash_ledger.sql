-- The cash ledger: every movement of cash, exactly, so that a venue's cash is the sum of its
-- rows and the portfolio's value is that cash plus its positions at their marks
-- (pmarb/domain/portfolio.py).
create table cash_flows (
    id bigserial primary key,
    venue text not null references venues (id),
    kind text not null check (kind in (
        'opening',     -- a paper venue's starting balance, once per venue
        'carried',     -- brought forward from a ledger kept before this table existed
        'buy',         -- − what a fill cost
        'sell',        -- + what a fill raised
        'fee',         -- − fees
        'payout',      -- + what a settled position paid (0 for the losing side)
        'adjustment'   -- ± a reconciliation repair's size at its price
    )),
    amount numeric not null,
    market_id text,
    outcome text check (outcome in ('yes', 'no')),
    size numeric,
    client_order_id text,
    occurred_at timestamptz not null default now()
);

create unique index cash_flows_opening_idx on cash_flows (venue) where kind = 'opening';
create index cash_flows_venue_idx on cash_flows (venue);

-- Until now cash was implied by positions: realised P&L less the cost of what is still held.
insert into cash_flows (venue, kind, amount, market_id, outcome, size)
select venue, 'carried', realized_pnl - size * average_price, market_id, outcome, size
from positions where realized_pnl <> 0 or size <> 0;

-- The exact notional of an order's fills, where the venue reports it (average_price is a
-- rounded quotient of it).
alter table orders add column notional numeric;

-- The price each instrument was last marked at by the valuation (the market-data process has
-- the books; the API values the ledger at these).
create table marks (
    venue text not null references venues (id),
    instrument_id text not null,
    price numeric not null,
    basis text not null check (basis in ('mid', 'bid', 'ask')),
    marked_at timestamptz not null default now(),
    primary key (venue, instrument_id)
);
