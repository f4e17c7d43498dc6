"""The pages: one module per page family, routed by dashboards/urls.py."""
