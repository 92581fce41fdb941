"""Plumbing shared by every streaming source (venue books, oracle ticks): freshness tracking,
reconnect with back-off, and HTTP retries. Parsing stays in each venue or oracle package."""
