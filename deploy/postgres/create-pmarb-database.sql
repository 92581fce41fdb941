-- Runs once, on the first start of an empty volume: pmarb's own database beside Temporal's.
create database pmarb;
