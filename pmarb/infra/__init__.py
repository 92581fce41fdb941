"""Local infrastructure for ``pmarb up``: the embedded PostgreSQL and Temporal dev server, and
the supervisor that starts, watches and stops every child process."""
