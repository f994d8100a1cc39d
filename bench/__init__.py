"""Benchmarks of lead_intelligence against Odoo's own scoring and the floor PostgreSQL allows."""
