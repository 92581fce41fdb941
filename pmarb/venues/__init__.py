"""Venue adapters behind one protocol (:mod:`pmarb.venues.base`), one folder per venue."""
