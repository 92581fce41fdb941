-- Operator surfaces: alert escalation and acknowledgement, and indexes for the dashboard's
-- searches (audit log, opportunity feed, recent rejections).

-- The AlertWorkflow that delivers (and, for emergencies, repeats) each alert.
alter table alerts add column workflow_id text;
-- Where the acknowledgement came from: api, dashboard, cli, temporal.
alter table alerts add column acknowledged_via text;
-- Time to acknowledge, kept with the row so it survives any later edit of created_at.
alter table alerts add column time_to_acknowledge interval
    generated always as (acknowledged_at - created_at) stored;

create index alerts_created_idx on alerts (created_at desc);

create index trade_requests_requested_idx on trade_requests (requested_at desc);
create index opportunities_kind_idx on opportunities (kind, detected_at desc);
create index risk_events_kind_idx on risk_events (kind, occurred_at desc);
create index fills_instrument_idx on fills (venue, market_id, outcome, filled_at desc);
