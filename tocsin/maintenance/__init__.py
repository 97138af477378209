"""Maintenance windows: while one is open on a service, its events open no incident."""
