"""The multi-tenant scoring API."""
