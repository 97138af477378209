"""HTTP plumbing shared by every domain's routes: references, pagination, query parsing and the
per-request runtime. Domains import this; it imports no domain."""
