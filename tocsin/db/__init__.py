"""Database plumbing shared by every domain: the declarative base, engines, transactions."""
