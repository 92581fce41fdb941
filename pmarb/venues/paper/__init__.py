"""Paper trading on live books: the Venue protocol, filled against a real adapter's store."""
