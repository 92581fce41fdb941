"""Persistence: PostgreSQL through psycopg 3 (plain SQL migrations) and Parquet through polars."""
